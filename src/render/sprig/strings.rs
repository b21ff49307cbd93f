//! String functions: `upper`, `title`, `trim`, `replace`, `quote`, `indent`, `substr`, `trunc`,
//! `abbrev`, case conversions, `wrap`, the random strings, …

use gotmpl::{TemplateError, Value};

use super::{
    Func, Res,
    args::{arity, check_size, fail, int_at, lossy, str_at, string},
    gofmt::{go_quote, sprint},
    random::Rng,
};

/// The functions of this family, by template name (aliases are separate rows).
pub(super) const ROWS: &[(&str, Func)] = &[
    ("hello", f_hello),
    ("upper", f_upper),
    ("lower", f_lower),
    ("title", f_title),
    ("untitle", f_untitle),
    ("trim", f_trim),
    ("trimAll", f_trim_all),
    ("trimall", f_trim_all),
    ("trimPrefix", f_trim_prefix),
    ("trimSuffix", f_trim_suffix),
    ("replace", f_replace),
    ("contains", f_contains),
    ("hasPrefix", f_has_prefix),
    ("hasSuffix", f_has_suffix),
    ("quote", f_quote),
    ("squote", f_squote),
    ("cat", f_cat),
    ("indent", f_indent),
    ("nindent", f_nindent),
    ("substr", f_substr),
    ("trunc", f_trunc),
    ("repeat", f_repeat),
    ("nospace", f_nospace),
    ("abbrev", f_abbrev),
    ("initials", f_initials),
    ("plural", f_plural),
    ("snakecase", f_snakecase),
    ("camelcase", f_camelcase),
    ("kebabcase", f_kebabcase),
    ("swapcase", f_swapcase),
    ("shuffle", f_shuffle),
    ("wrap", f_wrap),
    ("wrapWith", f_wrap_with),
    ("randAlphaNum", f_rand_alpha_num),
    ("randAlpha", f_rand_alpha),
    ("randNumeric", f_rand_numeric),
    ("randAscii", f_rand_ascii),
];

fn f_hello(name: &str, args: &[Value]) -> Res {
    arity(name, args, 0)?;
    Ok(string("Hello!"))
}

fn go_upper(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

fn go_lower(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

fn go_title(c: char) -> char {
    match c {
        '\u{1C4}'..='\u{1C6}' => '\u{1C5}',
        '\u{1C7}'..='\u{1C9}' => '\u{1C8}',
        '\u{1CA}'..='\u{1CC}' => '\u{1CB}',
        '\u{1F1}'..='\u{1F3}' => '\u{1F2}',
        c => go_upper(c),
    }
}

fn f_upper(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(
        str_at(name, args, 0)?
            .chars()
            .map(go_upper)
            .collect::<String>(),
    ))
}

fn f_lower(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(
        str_at(name, args, 0)?
            .chars()
            .map(go_lower)
            .collect::<String>(),
    ))
}

/// Go's `strings.Title` word separator rule.
fn title_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphanumeric() {
        return false;
    }
    c.is_whitespace()
}

fn f_title(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let s = str_at(name, args, 0)?;
    let mut prev = ' ';
    let out: String = s
        .chars()
        .map(|c| {
            let r = if title_separator(prev) {
                go_title(c)
            } else {
                c
            };
            prev = c;
            r
        })
        .collect();
    Ok(string(out))
}

fn f_untitle(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let s = str_at(name, args, 0)?;
    let mut next = true;
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_whitespace() {
                next = true;
                c
            } else if next {
                next = false;
                go_lower(c)
            } else {
                c
            }
        })
        .collect();
    Ok(string(out))
}

fn f_trim(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(str_at(name, args, 0)?.trim()))
}

fn f_trim_all(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let cutset = str_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    Ok(string(s.trim_matches(|c| cutset.contains(c))))
}

fn f_trim_prefix(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let prefix = str_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    Ok(string(s.strip_prefix(prefix).unwrap_or(s)))
}

fn f_trim_suffix(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let suffix = str_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    Ok(string(s.strip_suffix(suffix).unwrap_or(s)))
}

fn f_replace(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let old = str_at(name, args, 0)?;
    let new = str_at(name, args, 1)?;
    let s = str_at(name, args, 2)?;
    let count = if old.is_empty() {
        s.chars().count() + 1
    } else {
        s.matches(old).count()
    };
    check_size(
        name,
        s.len()
            .saturating_add(count.saturating_mul(new.len().saturating_sub(old.len()))),
    )?;
    Ok(string(s.replace(old, new)))
}

fn f_contains(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    Ok(Value::Bool(
        str_at(name, args, 1)?.contains(str_at(name, args, 0)?),
    ))
}

fn f_has_prefix(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    Ok(Value::Bool(
        str_at(name, args, 1)?.starts_with(str_at(name, args, 0)?),
    ))
}

fn f_has_suffix(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    Ok(Value::Bool(
        str_at(name, args, 1)?.ends_with(str_at(name, args, 0)?),
    ))
}

fn f_quote(_name: &str, args: &[Value]) -> Res {
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(|v| go_quote(&sprint(v)))
        .collect();
    Ok(string(parts.join(" ")))
}

fn f_squote(_name: &str, args: &[Value]) -> Res {
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(|v| format!("'{}'", sprint(v)))
        .collect();
    Ok(string(parts.join(" ")))
}

fn f_cat(_name: &str, args: &[Value]) -> Res {
    let parts: Vec<String> = args
        .iter()
        .filter(|v| !matches!(v, Value::Nil))
        .map(sprint)
        .collect();
    Ok(string(parts.join(" ")))
}

fn indent_str(name: &str, spaces: i64, s: &str) -> gotmpl::Result<String> {
    let n = usize::try_from(spaces).map_err(|_| fail(name, "strings: negative Repeat count"))?;
    let lines = s.matches('\n').count() + 1;
    check_size(name, s.len().saturating_add(n.saturating_mul(lines)))?;
    let pad = " ".repeat(n);
    let mut out = String::with_capacity(s.len() + n * lines);
    out.push_str(&pad);
    out.push_str(&s.replace('\n', &format!("\n{pad}")));
    Ok(out)
}

fn f_indent(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let n = int_at(name, args, 0)?;
    Ok(string(indent_str(name, n, str_at(name, args, 1)?)?))
}

fn f_nindent(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let n = int_at(name, args, 0)?;
    Ok(string(format!(
        "\n{}",
        indent_str(name, n, str_at(name, args, 1)?)?
    )))
}

pub(super) fn slice_err(name: &str, start: i64, end: i64, len: usize) -> TemplateError {
    fail(
        name,
        format!("runtime error: slice bounds out of range [{start}:{end}] with length {len}"),
    )
}

fn f_substr(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let start = int_at(name, args, 0)?;
    let end = int_at(name, args, 1)?;
    let s = str_at(name, args, 2)?;
    let b = s.as_bytes();
    let len = b.len() as i64;
    // Sprig: start < 0 → s[:end]; end < 0 or end > len → s[start:]; else s[start:end].
    let (lo, hi) = if start < 0 {
        (0, end)
    } else if end < 0 || end > len {
        (start, len)
    } else {
        (start, end)
    };
    if lo < 0 || hi < lo || hi > len {
        return Err(slice_err(name, lo, hi, b.len()));
    }
    Ok(lossy(&b[lo as usize..hi as usize]))
}

fn f_trunc(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let c = int_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    let len = s.len() as i64;
    if len <= c {
        return Ok(string(s));
    }
    if c < 0 {
        return Err(slice_err(name, 0, c, s.len()));
    }
    Ok(lossy(&s.as_bytes()[..c as usize]))
}

fn f_repeat(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let count = int_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    let n = usize::try_from(count).map_err(|_| fail(name, "strings: negative Repeat count"))?;
    check_size(name, s.len().saturating_mul(n))?;
    Ok(string(s.repeat(n)))
}

fn f_nospace(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(
        str_at(name, args, 0)?
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>(),
    ))
}

fn f_abbrev(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let width = int_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    if width < 4 || s.len() as i64 <= width {
        return Ok(string(s));
    }
    let mut out = String::from_utf8_lossy(&s.as_bytes()[..(width - 3) as usize]).into_owned();
    out.push_str("...");
    Ok(string(out))
}

fn f_initials(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let s = str_at(name, args, 0)?;
    let mut gap = true;
    let mut out = String::new();
    for c in s.chars() {
        if c.is_whitespace() {
            gap = true;
        } else if gap {
            out.push(c);
            gap = false;
        }
    }
    Ok(string(out))
}

fn f_plural(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let one = str_at(name, args, 0)?;
    let many = str_at(name, args, 1)?;
    let count = int_at(name, args, 2)?;
    Ok(string(if count == 1 { one } else { many }))
}

fn is_word_sep(c: char) -> bool {
    c == ' ' || c == '-' || c == '_'
}

/// `snakecase` / `kebabcase`: words split at separators (` `, `-`, `_`), at lower→upper changes,
/// before the last capital of an acronym followed by a lower-case letter (`HTTPServer` →
/// `http_server`) and before a number (`http2xx` → `http_2xx`); then lower-cased and joined.
fn to_lower_words(s: &str, connector: char) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if is_word_sep(c) {
            out.push(connector);
            continue;
        }
        let prev = if i > 0 {
            chars.get(i - 1).copied()
        } else {
            None
        };
        let next = chars.get(i + 1).copied();
        let boundary = match prev {
            None => false,
            Some(p) if is_word_sep(p) => false,
            Some(p) => {
                (c.is_uppercase() && p.is_lowercase())
                    || (c.is_uppercase()
                        && p.is_uppercase()
                        && next.is_some_and(char::is_lowercase))
                    || (c.is_numeric() && !p.is_numeric())
            }
        };
        if boundary {
            out.push(connector);
        }
        out.push(go_lower(c));
    }
    out
}

fn f_snakecase(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(to_lower_words(str_at(name, args, 0)?, '_')))
}

fn f_kebabcase(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(to_lower_words(str_at(name, args, 0)?, '-')))
}

fn is_camel_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

/// `camelcase` (upper camel case, as Sprig v2): `http_server` → `HttpServer`. Leading connectors
/// stay; inside a run of connectors before a letter all but the last are kept (`a__b` → `A_B`);
/// trailing connectors stay; other letters keep their case.
fn to_camel(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() && is_camel_connector(chars[i]) {
        out.push(chars[i]);
        i += 1;
    }
    let mut upper_next = true;
    while i < chars.len() {
        let c = chars[i];
        if is_camel_connector(c) {
            let start = i;
            while i < chars.len() && is_camel_connector(chars[i]) {
                i += 1;
            }
            let run = &chars[start..i];
            if i == chars.len() {
                out.extend(run);
            } else {
                out.extend(&run[..run.len() - 1]);
                upper_next = true;
            }
            continue;
        }
        out.push(if upper_next { go_upper(c) } else { c });
        upper_next = false;
        i += 1;
    }
    out
}

fn f_camelcase(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    Ok(string(to_camel(str_at(name, args, 0)?)))
}

fn f_swapcase(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let out: String = str_at(name, args, 0)?
        .chars()
        .map(|c| {
            if c.is_uppercase() {
                go_lower(c)
            } else if c.is_lowercase() {
                go_upper(c)
            } else {
                c
            }
        })
        .collect();
    Ok(string(out))
}

fn f_shuffle(name: &str, args: &[Value]) -> Res {
    arity(name, args, 1)?;
    let mut chars: Vec<char> = str_at(name, args, 0)?.chars().collect();
    let mut rng = Rng::new();
    for i in (1..chars.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        chars.swap(i, j);
    }
    Ok(string(chars.into_iter().collect::<String>()))
}

/// Word wrapping as Sprig's `wrap`/`wrapWith` (Apache Commons `WordUtils.wrap`): break at the last
/// space within `width`; a longer word is split (`long_words`) or left whole.
fn wrap_text(s: &str, width: i64, newline: &str, long_words: bool) -> Vec<u8> {
    let b = s.as_bytes();
    let newline = if newline.is_empty() { "\n" } else { newline };
    let width = usize::try_from(width.max(1)).unwrap_or(1);
    let mut out: Vec<u8> = Vec::with_capacity(b.len() + 8);
    let mut offset = 0usize;
    while b.len() - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let window_end = (offset + width + 1).min(b.len());
        let space = b[offset..window_end].iter().rposition(|&c| c == b' ');
        match space {
            Some(rel) => {
                out.extend_from_slice(&b[offset..offset + rel]);
                out.extend_from_slice(newline.as_bytes());
                offset += rel + 1;
            }
            None if long_words => {
                out.extend_from_slice(&b[offset..offset + width]);
                out.extend_from_slice(newline.as_bytes());
                offset += width;
            }
            None => {
                let end = offset + width;
                match b[end..].iter().position(|&c| c == b' ') {
                    None => {
                        out.extend_from_slice(&b[offset..]);
                        offset = b.len();
                    }
                    Some(rel) => {
                        out.extend_from_slice(&b[offset..end + rel]);
                        out.extend_from_slice(newline.as_bytes());
                        offset = end + rel + 1;
                    }
                }
            }
        }
    }
    out.extend_from_slice(&b[offset..]);
    out
}

fn f_wrap(name: &str, args: &[Value]) -> Res {
    arity(name, args, 2)?;
    let width = int_at(name, args, 0)?;
    let s = str_at(name, args, 1)?;
    check_size(name, s.len().saturating_mul(2))?;
    Ok(lossy(&wrap_text(s, width, "\n", false)))
}

fn f_wrap_with(name: &str, args: &[Value]) -> Res {
    arity(name, args, 3)?;
    let width = int_at(name, args, 0)?;
    let sep = str_at(name, args, 1)?;
    let s = str_at(name, args, 2)?;
    check_size(name, s.len().saturating_mul(sep.len().saturating_add(1)))?;
    Ok(lossy(&wrap_text(s, width, sep, true)))
}

fn random_string(name: &str, args: &[Value], alphabet: &[u8]) -> Res {
    arity(name, args, 1)?;
    let count = int_at(name, args, 0)?;
    // goutils returns an error for a negative count, which Sprig turns into "".
    let Ok(n) = usize::try_from(count) else {
        return Ok(string(""));
    };
    check_size(name, n)?;
    let mut rng = Rng::new();
    let out: String = (0..n)
        .map(|_| {
            let i = rng.below(alphabet.len() as u64) as usize;
            char::from(alphabet.get(i).copied().unwrap_or(b'a'))
        })
        .collect();
    Ok(string(out))
}

const ALPHA: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const DIGITS: &[u8] = b"0123456789";

fn f_rand_alpha_num(name: &str, args: &[Value]) -> Res {
    random_string(name, args, ALNUM)
}

fn f_rand_alpha(name: &str, args: &[Value]) -> Res {
    random_string(name, args, ALPHA)
}

fn f_rand_numeric(name: &str, args: &[Value]) -> Res {
    random_string(name, args, DIGITS)
}

fn f_rand_ascii(name: &str, args: &[Value]) -> Res {
    let printable: Vec<u8> = (32u8..=126).collect();
    random_string(name, args, &printable)
}

#[cfg(test)]
mod tests {
    use crate::render::sprig::test_util::*;

    #[test]
    fn hello() {
        assert_eq!(r("{{ hello }}"), "Hello!");
    }

    #[test]
    fn upper_lower() {
        assert_eq!(r("{{ \"héllo\" | upper }}"), "HÉLLO");
        assert_eq!(r("{{ upper \"straße\" }}"), "STRAßE");
        assert_eq!(r("{{ \"HÉLLO\" | lower }}"), "héllo");
    }

    #[test]
    fn title_untitle() {
        assert_eq!(
            r("{{ title \"hello world-foo o'neil snake_case\" }}"),
            "Hello World-Foo O'Neil Snake_case"
        );
        assert_eq!(r("{{ \"Hello World\" | untitle }}"), "hello world");
    }

    #[test]
    fn trims() {
        assert_eq!(r("[{{ trim \"  a b \\n\" }}]"), "[a b]");
        assert_eq!(r("{{ trimAll \"$\" \"$5.00$\" }}"), "5.00");
        assert_eq!(r("{{ \"$$5$\" | trimAll \"$\" }}"), "5");
        assert_eq!(r("{{ \"xxaxx\" | trimall \"x\" }}"), "a");
        assert_eq!(r("{{ \"foo-bar\" | trimPrefix \"foo-\" }}"), "bar");
        assert_eq!(r("{{ trimPrefix \"x\" \"foo\" }}"), "foo");
        assert_eq!(r("{{ \"hello-\" | trimSuffix \"-\" }}"), "hello");
    }

    #[test]
    fn replace() {
        assert_eq!(
            r("{{ \"I Am Henry VIII\" | replace \" \" \"-\" }}"),
            "I-Am-Henry-VIII"
        );
        assert_eq!(r("{{ replace \"\" \"-\" \"ab\" }}"), "-a-b-");
    }

    #[test]
    fn contains_has_prefix_suffix() {
        assert_eq!(r("{{ \"catch\" | contains \"cat\" }}"), "true");
        assert_eq!(r("{{ contains \"dog\" \"catch\" }}"), "false");
        assert_eq!(r("{{ if hasPrefix \"ca\" \"catch\" }}y{{ end }}"), "y");
        assert_eq!(r("{{ \"catch\" | hasSuffix \"ch\" }}"), "true");
        assert_eq!(r("{{ \"catch\" | hasSuffix \"ca\" }}"), "false");
    }

    #[test]
    fn quote_squote() {
        assert_eq!(
            r(r#"{{ quote "a\"b" 1 .missing "tab	é\x01" }}"#),
            r#""a\"b" "1" "tab\té\x01""#
        );
        assert_eq!(r("[{{ .missing | quote }}]"), "[]");
        assert_eq!(r("{{ 1.5 | quote }}"), "\"1.5\"");
        assert_eq!(r("{{ squote \"a\" 2 (list 1 2) }}"), "'a' '2' '[1 2]'");
        assert_eq!(r("{{ \"\\u200b\" | quote }}"), "\"\\u200b\"");
    }

    #[test]
    fn cat() {
        assert_eq!(
            r("{{ cat \"hello\" \"beautiful\" \"world\" }}"),
            "hello beautiful world"
        );
        assert_eq!(r("{{ cat \"a\" .missing 1 (list 1 2) }}"), "a 1 [1 2]");
    }

    #[test]
    fn indent_nindent() {
        assert_eq!(r("{{ \"a\\nb\" | indent 2 }}"), "  a\n  b");
        assert_eq!(r("[{{ indent 3 \"\" }}]"), "[   ]");
        assert_eq!(
            r("x:{{ \"a: 1\\nb: 2\" | nindent 4 }}"),
            "x:\n    a: 1\n    b: 2"
        );
        assert_eq!(r("{{ nindent 0 \"a\" }}"), "\na");
        assert_err(
            "{{ indent -1 \"a\" }}",
            &["error calling indent", "negative"],
        );
    }

    #[test]
    fn substr() {
        assert_eq!(r("{{ substr 0 5 \"hello world\" }}"), "hello");
        assert_eq!(r("{{ \"hello world\" | substr 6 -1 }}"), "world");
        assert_eq!(r("{{ substr -1 5 \"hello world\" }}"), "hello");
        assert_eq!(r("{{ substr 3 100 \"hello\" }}"), "lo");
        assert_err(
            "{{ substr 4 2 \"hello\" }}",
            &["error calling substr", "out of range"],
        );
        assert_err("{{ substr 10 -1 \"abc\" }}", &["error calling substr"]);
    }

    #[test]
    fn trunc() {
        assert_eq!(r("{{ trunc 5 \"hello world\" }}"), "hello");
        assert_eq!(r("{{ \"hi\" | trunc 20 }}"), "hi");
        assert_err("{{ trunc -1 \"hi\" }}", &["error calling trunc"]);
    }

    #[test]
    fn repeat() {
        assert_eq!(r("{{ repeat 3 \"ab\" }}"), "ababab");
        assert_eq!(r("{{ \"x\" | repeat 2 }}"), "xx");
        assert_err("{{ repeat -1 \"x\" }}", &["error calling repeat"]);
        assert_err("{{ repeat 9223372036854775807 \"x\" }}", &["too large"]);
    }

    /// Every function's result is held to the size limits, also for functions that do not check
    /// them themselves: doubling a string with `cat` or `join` in a loop stops at 64 MiB.
    #[test]
    fn results_of_every_function_are_size_limited() {
        assert_err(
            "{{ $s := \"xxxxxxxxxxxxxxxx\" }}{{ range until 40 }}{{ $s = cat $s $s }}{{ end }}",
            &["error calling cat", "too large"],
        );
        assert_err(
            "{{ $s := \"xxxxxxxxxxxxxxxx\" }}{{ range until 40 }}{{ $s = list $s $s | join $s }}{{ end }}",
            &["error calling join", "too large"],
        );
    }

    #[test]
    fn nospace_abbrev_initials_plural() {
        assert_eq!(r("{{ nospace \"hello w o r\\tld\" }}"), "helloworld");
        assert_eq!(r("{{ abbrev 5 \"hello world\" }}"), "he...");
        assert_eq!(r("{{ \"hello\" | abbrev 3 }}"), "hello");
        assert_eq!(r("{{ abbrev 20 \"hello\" }}"), "hello");
        assert_eq!(r("{{ initials \"First Try\" }}"), "FT");
        assert_eq!(
            r("{{ len \"foo\" | plural \"one anchovy\" \"many anchovies\" }}"),
            "many anchovies"
        );
        assert_eq!(r("{{ plural \"one\" \"many\" 1 }}"), "one");
    }

    #[test]
    fn case_conversions() {
        assert_eq!(r("{{ snakecase \"FirstName\" }}"), "first_name");
        assert_eq!(r("{{ snakecase \"HTTPServer\" }}"), "http_server");
        assert_eq!(r("{{ snakecase \"NoHTTPS\" }}"), "no_https");
        assert_eq!(r("{{ snakecase \"GO PATH\" }}"), "go_path");
        assert_eq!(r("{{ snakecase \"http2xx\" }}"), "http_2xx");
        assert_eq!(r("{{ kebabcase \"FirstName\" }}"), "first-name");
        assert_eq!(r("{{ camelcase \"http_server\" }}"), "HttpServer");
        assert_eq!(r("{{ camelcase \"hello world\" }}"), "HelloWorld");
        assert_eq!(r("{{ camelcase \"_complex__case_\" }}"), "_Complex_Case_");
        assert_eq!(r("{{ swapcase \"This Is A.Test\" }}"), "tHIS iS a.tEST");
    }

    #[test]
    fn shuffle_keeps_the_characters() {
        let out = r("{{ shuffle \"hello world\" }}");
        let mut got: Vec<char> = out.chars().collect();
        let mut want: Vec<char> = "hello world".chars().collect();
        got.sort_unstable();
        want.sort_unstable();
        assert_eq!(got, want);
    }

    #[test]
    fn wrap_and_wrap_with() {
        assert_eq!(r("{{ wrap 5 \"Hello World\" }}"), "Hello\nWorld");
        assert_eq!(r("{{ wrap 3 \"abcdefgh ij\" }}"), "abcdefgh\nij");
        assert_eq!(
            r("{{ wrapWith 5 \"\\t\" \"Hello World\" }}"),
            "Hello\tWorld"
        );
        assert_eq!(r("{{ wrapWith 3 \"|\" \"abcdefg\" }}"), "abc|def|g");
    }

    #[test]
    fn random_strings() {
        let check = |src: &str, len: usize, ok: fn(&u8) -> bool| {
            let out = r(src);
            assert_eq!(out.len(), len, "{src}: {out:?}");
            assert!(out.as_bytes().iter().all(ok), "{src}: {out:?}");
        };
        check("{{ randAlphaNum 32 }}", 32, u8::is_ascii_alphanumeric);
        check("{{ randAlpha 8 }}", 8, u8::is_ascii_alphabetic);
        check("{{ randNumeric 8 }}", 8, u8::is_ascii_digit);
        check("{{ randAscii 40 }}", 40, |b| (32..=126).contains(b));
        check("{{ randAlpha -1 }}", 0, |_| false);
        assert_ne!(r("{{ randAlphaNum 16 }}"), r("{{ randAlphaNum 16 }}"));
    }
}
