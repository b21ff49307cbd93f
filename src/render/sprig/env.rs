//! The opt-in environment functions `env` and `expandenv` (Go's `os.ExpandEnv` rules); they are
//! registered only through [`super::env_funcs`].

use gotmpl::Value;

use super::{
    Func, Res,
    args::{arity, str_at, string},
};

/// The functions of this family, by template name (aliases are separate rows).
pub(super) const ROWS: &[(&str, Func)] = &[("env", f_env), ("expandenv", f_expandenv)];

fn f_env(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let key = str_at(name, args, 0)?;
    Ok(string(std::env::var(key).unwrap_or_default()))
}

fn is_shell_special(b: u8) -> bool {
    matches!(b, b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-') || b.is_ascii_digit()
}

/// Go's `os.Expand` variable-name scan: the name and the bytes consumed after `$`.
fn shell_name(s: &str) -> (&str, usize) {
    let b = s.as_bytes();
    match b.first() {
        Some(b'{') => {
            if b.len() > 2 && is_shell_special(b[1]) && b[2] == b'}' {
                return (&s[1..2], 3);
            }
            match s[1..].find('}') {
                Some(0) => ("", 2),
                Some(i) => (&s[1..=i], i + 2),
                None => ("", 1),
            }
        }
        Some(&c) if is_shell_special(c) => (&s[0..1], 1),
        _ => {
            let n = b
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            (&s[..n], n)
        }
    }
}

/// Go's `os.Expand(s, lookup)`.
fn go_expand(s: &str, lookup: impl Fn(&str) -> String) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0usize;
    let mut j = 0usize;
    while j < b.len() {
        if b[j] == b'$' && j + 1 < b.len() {
            out.push_str(&s[i..j]);
            let (name, w) = shell_name(&s[j + 1..]);
            if name.is_empty() && w > 0 {
                // Invalid syntax: the characters are dropped.
            } else if name.is_empty() {
                out.push('$');
            } else {
                out.push_str(&lookup(name));
            }
            j += w;
            i = j + 1;
        }
        j += 1;
    }
    out.push_str(&s[i.min(s.len())..]);
    out
}

fn f_expandenv(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let s = str_at(name, args, 0)?;
    Ok(string(go_expand(s, |k| {
        std::env::var(k).unwrap_or_default()
    })))
}
