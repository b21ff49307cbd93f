//! `semverCompare`: Masterminds/semver v1 versions and constraints, as used by Sprig v2.

use gotmpl::Value;

use super::{
    Func, Res,
    args::{arity, fail, str_at},
};

/// The functions of this family, by template name (aliases are separate rows).
pub(super) const ROWS: &[(&str, Func)] = &[("semverCompare", f_semver_compare)];

#[derive(Debug, Clone)]
struct SemVer {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
}

fn valid_idents(s: &str) -> bool {
    !s.is_empty()
        && s.split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

/// `semver.NewVersion`: `v?MAJOR[.MINOR[.PATCH]][-PRERELEASE][+METADATA]`.
fn parse_semver(s: &str) -> Option<SemVer> {
    let s = s.strip_prefix('v').unwrap_or(s);
    let (s, meta) = match s.split_once('+') {
        Some((a, m)) => (a, Some(m)),
        None => (s, None),
    };
    if meta.is_some_and(|m| !valid_idents(m)) {
        return None;
    }
    let (core, pre) = match s.split_once('-') {
        Some((c, p)) => (c, p),
        None => (s, ""),
    };
    if s.contains('-') && !valid_idents(pre) {
        return None;
    }
    let nums: Vec<&str> = core.split('.').collect();
    if nums.is_empty() || nums.len() > 3 {
        return None;
    }
    let mut parsed = [0u64; 3];
    for (i, n) in nums.iter().enumerate() {
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        parsed[i] = n.parse().ok()?;
    }
    Some(SemVer {
        major: parsed[0],
        minor: parsed[1],
        patch: parsed[2],
        pre: pre.to_string(),
    })
}

fn cmp_pre_part(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    if a == b {
        return Ordering::Equal;
    }
    if a.is_empty() {
        return Ordering::Less;
    }
    if b.is_empty() {
        return Ordering::Greater;
    }
    match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(x), Ok(y)) => {
            if x > y {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Ok(_), Err(_)) => Ordering::Less,
        (Err(_), Ok(_)) => Ordering::Greater,
        (Err(_), Err(_)) => a.cmp(b),
    }
}

fn cmp_semver(a: &SemVer, b: &SemVer) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let core = (a.major, a.minor, a.patch).cmp(&(b.major, b.minor, b.patch));
    if core != Ordering::Equal {
        return core;
    }
    match (a.pre.is_empty(), b.pre.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => {
            let pa: Vec<&str> = a.pre.split('.').collect();
            let pb: Vec<&str> = b.pre.split('.').collect();
            for i in 0..pa.len().max(pb.len()) {
                let d = cmp_pre_part(
                    pa.get(i).copied().unwrap_or(""),
                    pb.get(i).copied().unwrap_or(""),
                );
                if d != Ordering::Equal {
                    return d;
                }
            }
            Ordering::Equal
        }
    }
}

struct SemConstraint {
    op: &'static str,
    con: SemVer,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

const SEMVER_OPS: [&str; 12] = [
    "!=", ">=", "=>", "<=", "=<", "~>", ">", "<", "=", "~", "^", "",
];

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

/// Reads one constraint version (`v?N[.N[.N]][-pre][+meta]`, `N` digits or `x X *`) at the start
/// of `s`; returns (major, ".minor", ".patch", "-pre", byte length).
fn scan_constraint_version(s: &str) -> Option<(&str, &str, &str, &str, usize)> {
    let b = s.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'v'));
    let part = |mut i: usize| {
        let st = i;
        while i < b.len() && (b[i].is_ascii_digit() || matches!(b[i], b'x' | b'X' | b'*')) {
            i += 1;
        }
        (st, i)
    };
    let (ms, me) = part(i);
    if ms == me {
        return None;
    }
    i = me;
    let mut dotted = [(i, i), (i, i)];
    for slot in &mut dotted {
        if b.get(i) == Some(&b'.') {
            let (s2, e2) = part(i + 1);
            if s2 == e2 {
                break;
            }
            *slot = (i, e2);
            i = e2;
        } else {
            *slot = (i, i);
        }
    }
    let ident_run = |mut i: usize| {
        let st = i;
        while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'-' || b[i] == b'.') {
            i += 1;
        }
        (st, i)
    };
    let mut pre = (i, i);
    if b.get(i) == Some(&b'-') {
        let (_, e) = ident_run(i + 1);
        pre = (i, e);
        i = e;
    }
    if b.get(i) == Some(&b'+') {
        let (_, e) = ident_run(i + 1);
        i = e;
    }
    Some((
        &s[ms..me],
        &s[dotted[0].0..dotted[0].1],
        &s[dotted[1].0..dotted[1].1],
        &s[pre.0..pre.1],
        i,
    ))
}

fn parse_one_constraint(
    op: &'static str,
    cv: (&str, &str, &str, &str),
) -> Result<SemConstraint, String> {
    let (major, minor, patch, pre) = cv;
    let minor_n = minor.strip_prefix('.').unwrap_or(minor);
    let patch_n = patch.strip_prefix('.').unwrap_or(patch);
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let ver = if is_x(major) {
        dirty = true;
        "0.0.0".to_string()
    } else if minor.is_empty() || is_x(minor_n) {
        dirty = true;
        minor_dirty = true;
        format!("{major}.0.0{pre}")
    } else if is_x(patch_n) {
        dirty = true;
        patch_dirty = true;
        format!("{major}{minor}.0{pre}")
    } else {
        format!("{major}{minor}{patch}{pre}")
    };
    let con = parse_semver(&ver).ok_or_else(|| "Invalid Semantic Version".to_string())?;
    Ok(SemConstraint {
        op,
        con,
        dirty,
        minor_dirty,
        patch_dirty,
    })
}

/// Rewrites hyphen ranges `A - B` into `>= A, <= B`.
fn rewrite_semver_ranges(c: &str) -> String {
    let mut out = String::new();
    let mut rest = c;
    while let Some(idx) = rest.find(" - ") {
        let (left, right) = rest.split_at(idx);
        let right = right[3..].trim_start();
        let lhs_start = left
            .trim_end()
            .char_indices()
            .rev()
            .find(|(_, ch)| ch.is_whitespace() || *ch == ',' || *ch == '|')
            .map_or(0, |(i, ch)| i + ch.len_utf8());
        let lhs = left.trim_end()[lhs_start..].to_string();
        match (
            scan_constraint_version(&lhs),
            scan_constraint_version(right),
        ) {
            (Some(l), Some(r)) if l.4 == lhs.len() => {
                out.push_str(&left[..lhs_start]);
                out.push_str(&format!(">= {lhs}, <= {}", &right[..r.4]));
                rest = &right[r.4..];
            }
            _ => {
                out.push_str(&rest[..idx + 3]);
                rest = &rest[idx + 3..];
            }
        }
    }
    out.push_str(rest);
    out
}

fn parse_semver_constraints(c: &str) -> Result<Vec<Vec<SemConstraint>>, String> {
    let c = rewrite_semver_ranges(c);
    let mut ors = Vec::new();
    for part in c.split("||") {
        let mut ands = Vec::new();
        let mut rest = part.trim_start();
        if rest.trim().is_empty() {
            return Err(format!("improper constraint: {part}"));
        }
        while !rest.trim().is_empty() {
            let op = SEMVER_OPS
                .iter()
                .copied()
                .find(|op| {
                    rest.strip_prefix(op)
                        .is_some_and(|after| scan_constraint_version(after.trim_start()).is_some())
                })
                .ok_or_else(|| format!("improper constraint: {part}"))?;
            let after = rest[op.len()..].trim_start();
            let (major, minor, patch, pre, len) = scan_constraint_version(after)
                .ok_or_else(|| format!("improper constraint: {part}"))?;
            ands.push(parse_one_constraint(op, (major, minor, patch, pre))?);
            rest = after[len..].trim_start();
            if let Some(r) = rest.strip_prefix(',') {
                rest = r.trim_start();
            }
        }
        ors.push(ands);
    }
    Ok(ors)
}

fn check_semver(c: &SemConstraint, v: &SemVer) -> bool {
    use std::cmp::Ordering;
    let con = &c.con;
    // A prerelease version only satisfies constraints that mention a prerelease (except a plain
    // `!=`, which compares exactly).
    let exact_not_equal = c.op == "!=" && !c.dirty;
    if !v.pre.is_empty() && con.pre.is_empty() && !exact_not_equal {
        return false;
    }
    let tilde = || {
        if cmp_semver(v, con) == Ordering::Less {
            return false;
        }
        if con.major == 0 && con.minor == 0 && con.patch == 0 && !c.minor_dirty && !c.patch_dirty {
            return true;
        }
        v.major == con.major && (v.minor == con.minor || c.minor_dirty)
    };
    let dirty_upper = || !(v.major > con.major || (v.minor > con.minor && !c.minor_dirty));
    match c.op {
        "" | "=" => {
            if c.dirty {
                tilde()
            } else {
                cmp_semver(v, con) == Ordering::Equal
            }
        }
        "!=" => {
            if c.dirty {
                if con.major != v.major {
                    return true;
                }
                con.minor != v.minor && !c.minor_dirty
            } else {
                cmp_semver(v, con) != Ordering::Equal
            }
        }
        ">" => cmp_semver(v, con) == Ordering::Greater,
        ">=" | "=>" => cmp_semver(v, con) != Ordering::Less,
        "<" => {
            if c.dirty {
                dirty_upper()
            } else {
                cmp_semver(v, con) == Ordering::Less
            }
        }
        "<=" | "=<" => {
            if c.dirty {
                dirty_upper()
            } else {
                cmp_semver(v, con) != Ordering::Greater
            }
        }
        "~" | "~>" => tilde(),
        "^" => cmp_semver(v, con) != Ordering::Less && v.major == con.major,
        _ => false,
    }
}

fn f_semver_compare(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let constraint = str_at(name, args, 0)?;
    let version = str_at(name, args, 1)?;
    let ors = parse_semver_constraints(constraint).map_err(|e| fail(name, e))?;
    let v = parse_semver(version).ok_or_else(|| fail(name, "Invalid Semantic Version"))?;
    Ok(Value::Bool(
        ors.iter()
            .any(|ands| ands.iter().all(|c| check_semver(c, &v))),
    ))
}

#[cfg(test)]
mod tests {
    use crate::render::sprig::test_util::*;

    #[test]
    fn semver_compare() {
        let cases = [
            (">=1.2.3", "1.2.4", true),
            (">= 1.2.3", "1.2.2", false),
            ("^1.2.0", "1.9.0", true),
            ("^1.2.0", "2.0.0", false),
            ("^0.2.3", "0.9.0", true),
            ("~1.2.3", "1.2.9", true),
            ("~1.2.3", "1.3.0", false),
            ("~1", "1.9.9", true),
            ("1.2.x", "1.2.7", true),
            ("1.2.x", "1.3.0", false),
            ("*", "4.5.6", true),
            (">1.0, <2.0", "1.5.0", true),
            (">1.0 <2.0", "2.5.0", false),
            ("<1.0 || >=3", "3.1.0", true),
            ("<1.0 || >=3", "2.0.0", false),
            ("1.0 - 2.0", "1.5.0", true),
            ("1.0 - 2.0", "2.1.0", false),
            (">=1.0.0", "1.1.0-beta", false),
            (">=1.0.0-alpha", "1.0.0-beta", true),
            (">=1.0.0-beta.2", "1.0.0-beta.11", true),
            ("!=1.2.3", "1.2.3", false),
            ("!=1.2.3", "1.2.4", true),
            ("=1.2", "1.2.0", true),
            ("v1.2.3", "v1.2.3+build.5", true),
            ("<=1.x", "1.9.0", true),
            ("<=1.x", "2.0.0", false),
        ];
        for (c, v, want) in cases {
            let got = r(&format!("{{{{ semverCompare {c:?} {v:?} }}}}"));
            assert_eq!(got, want.to_string(), "semverCompare {c:?} {v:?}");
        }
        assert_err(
            "{{ semverCompare \">=1\" \"x.y\" }}",
            &["error calling semverCompare", "Invalid Semantic Version"],
        );
        assert_err(
            "{{ semverCompare \"?1\" \"1.0.0\" }}",
            &["improper constraint"],
        );
    }
}
