//! Regular expressions: `regexMatch`, `regexFind`, `regexFindAll`, `regexReplaceAll`,
//! `regexReplaceAllLiteral` and `regexSplit`, with Go's RE2 syntax and semantics on top of the
//! regex crate.

use gotmpl::Value;
use regex::{Captures, Regex};

use super::{
    Func, Res,
    args::{arity, fail, int_at, list, str_at, str_list, string},
};

/// The functions of this family, by template name (aliases are separate rows).
pub(super) const ROWS: &[(&str, Func)] = &[
    ("regexMatch", f_regex_match),
    ("regexFind", f_regex_find),
    ("regexFindAll", f_regex_find_all),
    ("regexReplaceAll", f_regex_replace_all),
    ("regexReplaceAllLiteral", f_regex_replace_all_literal),
    ("regexSplit", f_regex_split),
];

/// Rewrites Go-specific syntax: ASCII-only `\d \w \s \b` (Unicode-aware in the regex crate),
/// `\Q…\E`, and characters that the regex crate treats specially inside classes (`[`, `&`, `~`,
/// `-` pairs).
fn translate_go_regex(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut i = 0;
    let mut in_class = false;
    let mut class_start = 0usize;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && i + 1 < chars.len() {
            let n = chars[i + 1];
            i += 2;
            match n {
                'd' => out.push_str(if in_class { "0-9" } else { "[0-9]" }),
                'D' => out.push_str("[^0-9]"),
                's' => out.push_str(if in_class {
                    "\\t\\n\\x0C\\r "
                } else {
                    "[\\t\\n\\x0C\\r ]"
                }),
                'S' => out.push_str("[^\\t\\n\\x0C\\r ]"),
                'w' => out.push_str(if in_class {
                    "0-9A-Za-z_"
                } else {
                    "[0-9A-Za-z_]"
                }),
                'W' => out.push_str("[^0-9A-Za-z_]"),
                'b' if !in_class => out.push_str("(?-u:\\b)"),
                'B' if !in_class => out.push_str("(?-u:\\B)"),
                'Q' => {
                    let mut lit = String::new();
                    while i < chars.len() {
                        if chars[i] == '\\' && chars.get(i + 1) == Some(&'E') {
                            i += 2;
                            break;
                        }
                        lit.push(chars[i]);
                        i += 1;
                    }
                    if in_class {
                        for ch in lit.chars() {
                            if ch.is_ascii_punctuation() {
                                out.push('\\');
                            }
                            out.push(ch);
                        }
                    } else {
                        out.push_str(&regex::escape(&lit));
                    }
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
            continue;
        }
        if in_class {
            if c == ']' && i > class_start {
                in_class = false;
                out.push(c);
            } else if c == '[' && chars.get(i + 1) == Some(&':') {
                // POSIX class [:alpha:]: copy through the closing ":]".
                let rest: String = chars[i..].iter().collect();
                if let Some(end) = rest.find(":]") {
                    out.push_str(&rest[..end + 2]);
                    i += rest[..end + 2].chars().count();
                    continue;
                }
                out.push_str("\\[");
            } else if matches!(c, '[' | '&' | '~') {
                out.push('\\');
                out.push(c);
            } else if c == '-' && chars.get(i + 1) == Some(&'-') {
                out.push_str("\\-");
            } else {
                out.push(c);
            }
            i += 1;
            continue;
        }
        if c == '[' {
            in_class = true;
            out.push('[');
            i += 1;
            if chars.get(i) == Some(&'^') {
                out.push('^');
                i += 1;
            }
            // A ']' right after the opening bracket is literal.
            class_start = i + 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

fn compile(name: &str, pattern: &str) -> gotmpl::Result<Regex> {
    Regex::new(&translate_go_regex(pattern)).map_err(|e| {
        let detail = e.to_string();
        let last = detail.lines().last().unwrap_or("invalid pattern").trim();
        let last = last.strip_prefix("error: ").unwrap_or(last);
        fail(
            name,
            format!("regexp: Compile({pattern:?}): error parsing regexp: {last}"),
        )
    })
}

/// Go's `FindAllStringIndex(s, n)`: successive non-overlapping matches; an empty match right
/// after the previous match is skipped.
fn go_find_all(re: &Regex, s: &str, n: i64) -> Vec<(usize, usize)> {
    let limit = if n < 0 {
        usize::MAX
    } else {
        usize::try_from(n).unwrap_or(usize::MAX)
    };
    let mut out = Vec::new();
    let mut pos = 0usize;
    let mut prev_end: Option<usize> = None;
    while out.len() < limit && pos <= s.len() {
        let Some(m) = re.find_at(s, pos) else {
            break;
        };
        let mut accept = true;
        if m.end() == pos {
            if Some(m.start()) == prev_end {
                accept = false;
            }
            pos += s[pos..].chars().next().map_or(1, char::len_utf8);
        } else {
            pos = m.end();
        }
        prev_end = Some(m.end());
        if accept {
            out.push((m.start(), m.end()));
        }
    }
    out
}

/// Go's `ReplaceAllString` loop; `repl` appends the replacement of one match.
fn go_replace_all(re: &Regex, src: &str, repl: impl Fn(&Captures<'_>, &mut String)) -> String {
    let mut buf = String::with_capacity(src.len());
    let mut last_end = 0usize;
    let mut search = 0usize;
    while search <= src.len() {
        let Some(caps) = re.captures_at(src, search) else {
            break;
        };
        let Some(m) = caps.get(0) else {
            break;
        };
        buf.push_str(&src[last_end..m.start()]);
        if m.end() > last_end || m.start() == 0 {
            repl(&caps, &mut buf);
        }
        last_end = m.end();
        let width = src[search..].chars().next().map_or(0, char::len_utf8);
        if search + width > m.end() {
            search += width;
        } else if search + 1 > m.end() {
            search += 1;
        } else {
            search = m.end();
        }
    }
    buf.push_str(&src[last_end..]);
    buf
}

fn f_regex_match(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let pattern = str_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    // Sprig ignores compile errors here: an invalid pattern never matches.
    Ok(Value::Bool(
        compile(name, pattern).is_ok_and(|re| re.is_match(s)),
    ))
}

fn f_regex_find(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let re = compile(name, str_at(name, args, 0)?)?;
    let s = str_at(name, args, 1)?;
    Ok(string(re.find(s).map_or("", |m| m.as_str())))
}

fn f_regex_find_all(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let re = compile(name, str_at(name, args, 0)?)?;
    let s = str_at(name, args, 1)?;
    let n = int_at(name, args, 2)?;
    let found: Vec<&str> = go_find_all(&re, s, n)
        .into_iter()
        .map(|(a, b)| &s[a..b])
        .collect();
    Ok(str_list(&found))
}

fn f_regex_replace_all(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let re = compile(name, str_at(name, args, 0)?)?;
    let s = str_at(name, args, 1)?;
    let repl = str_at(name, args, 2)?;
    Ok(string(go_replace_all(&re, s, |caps, buf| {
        caps.expand(repl, buf);
    })))
}

fn f_regex_replace_all_literal(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let re = compile(name, str_at(name, args, 0)?)?;
    let s = str_at(name, args, 1)?;
    let repl = str_at(name, args, 2)?;
    Ok(string(go_replace_all(&re, s, |_, buf| buf.push_str(repl))))
}

fn f_regex_split(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let pattern = str_at(name, args, 0)?;
    let re = compile(name, pattern)?;
    let s = str_at(name, args, 1)?;
    let n = int_at(name, args, 2)?;
    if n == 0 {
        return Ok(list(Vec::new()));
    }
    if !pattern.is_empty() && s.is_empty() {
        return Ok(str_list(&[""]));
    }
    let mut parts: Vec<&str> = Vec::new();
    let (mut beg, mut end) = (0usize, 0usize);
    for (a, b) in go_find_all(&re, s, n) {
        if n > 0 && parts.len() as i64 == n - 1 {
            break;
        }
        end = a;
        if b != 0 {
            parts.push(&s[beg..end]);
        }
        beg = b;
    }
    if end != s.len() {
        parts.push(&s[beg..]);
    }
    Ok(str_list(&parts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::sprig::test_util::*;

    #[test]
    fn regex_match() {
        assert_eq!(r("{{ regexMatch `^[a-z]+\\d$` \"abc1\" }}"), "true");
        assert_eq!(r("{{ \"abc\" | regexMatch `^\\d+$` }}"), "false");
        assert_eq!(r("{{ regexMatch \"(\" \"x\" }}"), "false");
        // Go's \d is ASCII-only.
        assert_eq!(r("{{ regexMatch `^\\d$` \"٣\" }}"), "false");
    }

    #[test]
    fn regex_find_and_find_all() {
        assert_eq!(r("{{ regexFind \"[a-zA-Z][1-9]\" \"abcd1234\" }}"), "d1");
        assert_eq!(r("[{{ regexFind \"z\" \"abc\" }}]"), "[]");
        assert_eq!(
            r("{{ regexFindAll \"[2,4,6,8]\" \"123456789\" -1 }}"),
            "[2 4 6 8]"
        );
        assert_eq!(
            r("{{ regexFindAll \"[2,4,6,8]\" \"123456789\" 2 }}"),
            "[2 4]"
        );
        assert_eq!(r("{{ regexFindAll \"a*\" \"baaab\" -1 | len }}"), "3");
        assert_eq!(r("{{ regexFindAll `[\\w]+` \"ab_1 é\" -1 }}"), "[ab_1]");
        assert_err(
            "{{ regexFind \"(\" \"x\" }}",
            &["error calling regexFind", "error parsing regexp"],
        );
    }

    #[test]
    fn regex_replace() {
        assert_eq!(
            r("{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" }}"),
            "-W-xxW-"
        );
        assert_eq!(
            r("{{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"$1W\" }}"),
            "---"
        );
        assert_eq!(
            r("{{ regexReplaceAll \"(?P<k>\\\\w+)=\" \"a=1\" \"$k:\" }}"),
            "a:1"
        );
        assert_eq!(r("{{ regexReplaceAll \"a*\" \"baaac\" \"X\" }}"), "XbXcX");
        assert_eq!(
            r("{{ regexReplaceAllLiteral \"a(x*)b\" \"-ab-axxb-\" \"${1}\" }}"),
            "-${1}-${1}-"
        );
        // Go's \b is an ASCII word boundary: é is not a word character.
        assert_eq!(
            r("{{ regexReplaceAll `\\bfoo\\b` \"foo éfoo\" \"X\" }}"),
            "X éX"
        );
        assert_eq!(
            r("{{ regexReplaceAll `\\Qa.b\\E` \"a.b axb\" \"X\" }}"),
            "X axb"
        );
    }

    #[test]
    fn regex_split() {
        assert_eq!(r("{{ regexSplit \"z+\" \"pizza\" -1 }}"), "[pi a]");
        assert_eq!(r("{{ regexSplit \"z+\" \"pizza\" 1 }}"), "[pizza]");
        assert_eq!(r("{{ regexSplit \"\" \"abc\" -1 }}"), "[a b c]");
        assert_eq!(r("{{ regexSplit \"z\" \"\" -1 | len }}"), "1");
        assert_eq!(r("{{ regexSplit \"z\" \"pizza\" 0 | len }}"), "0");
    }

    #[test]
    fn go_regex_translation() {
        assert_eq!(
            translate_go_regex(r"\d[\s\w]"),
            r"[0-9][\t\n\x0C\r 0-9A-Za-z_]"
        );
        assert_eq!(translate_go_regex(r"[]a[]"), r"[]a\[]");
        assert_eq!(translate_go_regex(r"[[:alpha:]&&x]"), r"[[:alpha:]\&\&x]");
    }
}
