//! Path functions, after Go's `path` package: `base`, `dir`, `clean`, `ext` and `isAbs`.

use gotmpl::Value;

use super::{
    Func, Res,
    args::{arity, str_at, string},
};

/// The functions of this family, by template name (aliases are separate rows).
pub(super) const ROWS: &[(&str, Func)] = &[
    ("base", f_base),
    ("dir", f_dir),
    ("clean", f_clean),
    ("ext", f_ext),
    ("isAbs", f_is_abs),
];

fn go_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

fn f_base(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let p = str_at(name, args, 0)?;
    if p.is_empty() {
        return Ok(string("."));
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return Ok(string("/"));
    }
    Ok(string(trimmed.rsplit('/').next().unwrap_or(trimmed)))
}

fn f_dir(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let p = str_at(name, args, 0)?;
    let dir = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    Ok(string(go_clean(dir)))
}

fn f_clean(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(go_clean(str_at(name, args, 0)?)))
}

fn f_ext(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let p = str_at(name, args, 0)?;
    let last = p.rsplit('/').next().unwrap_or(p);
    Ok(string(last.rfind('.').map_or("", |i| &last[i..])))
}

fn f_is_abs(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(Value::Bool(str_at(name, args, 0)?.starts_with('/')))
}

#[cfg(test)]
mod tests {
    use crate::render::sprig::test_util::*;

    #[test]
    fn paths() {
        assert_eq!(
            r("{{ base \"/a/b.txt\" }} {{ base \"\" }} {{ base \"/\" }} {{ base \"a/b/\" }}"),
            "b.txt . / b"
        );
        assert_eq!(
            r("{{ dir \"/a/b/c\" }} {{ dir \"a\" }} {{ dir \"/a\" }}"),
            "/a/b . /"
        );
        assert_eq!(
            r(
                "{{ clean \"a//b/../c/.\" }} {{ clean \"/../x\" }} {{ clean \"../a/..\" }} {{ clean \"\" }}"
            ),
            "a/c /x .. ."
        );
        assert_eq!(r("{{ ext \"a/b.tar.gz\" }}|{{ ext \"a.b/c\" }}"), ".gz|");
        assert_eq!(r("{{ isAbs \"/x\" }} {{ isAbs \"x\" }}"), "true false");
    }
}
