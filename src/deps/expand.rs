//! Dockerfile word processing: quote removal, the active escape character and `$` expansion, as
//! Docker applies it to a `FROM` image, a `--platform` value or an `ARG` default.
//!
//! Supported: `'…'` (literal), `"…"` (expansion inside; the escape character escapes `"`, `$` and
//! itself), the escape character outside quotes (next character literal), `$NAME`, `${NAME}`,
//! `${NAME:-w}`, `${NAME-w}`, `${NAME:+w}`, `${NAME+w}`, `${NAME:?w}`, `${NAME?w}`, `${NAME#p}`,
//! `${NAME##p}`, `${NAME%p}`, `${NAME%%p}`, `${NAME/p/r}`, `${NAME//p/r}` (patterns: `*`, `?`,
//! `[…]`, escapes). Words inside modifiers are processed recursively. A `$` not followed by a name
//! stays literal. Positional (`$1`) and special (`$@`, `$#`, …) parameters are never set.

use std::ops::Range;

/// Longest text a word may expand to. Past it, processing stops with an error instead of
/// exhausting memory (`ARG B=$A$A$A$A` repeated doubles the value at every line). Image names,
/// platforms and `ARG` defaults are far shorter.
pub(crate) const MAX_VALUE: usize = 16 << 10;

/// Result of processing one word.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Expanded {
    /// The processed text.
    pub value: String,
    /// Variables referenced bare (`$X`, `${X}`) that were not set, with their byte range in the
    /// input word.
    pub undefined: Vec<(String, Range<usize>)>,
}

/// A syntax or `${X:?}` error, with the byte range in the input word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ExpandError {
    pub message: String,
    pub range: Range<usize>,
}

/// Processes `word` with variables looked up by `lookup` (`None` = unset).
pub(crate) fn process_word<'e>(
    word: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<&'e str>,
) -> Result<Expanded, ExpandError> {
    let mut w = Word {
        src: word,
        chars: word.char_indices().collect(),
        i: 0,
        escape,
        lookup,
        undefined: Vec::new(),
    };
    let value = w.until(None)?;
    Ok(Expanded {
        value,
        undefined: w.undefined,
    })
}

/// Removes quotes (keeping their content) and escape characters, without expanding anything.
pub(crate) fn unquote(word: &str, escape: char) -> String {
    let mut out = String::with_capacity(word.len());
    let mut quote: Option<char> = None;
    let mut chars = word.chars();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => out.push(c),
            None if c == '"' || c == '\'' => quote = Some(c),
            None if c == escape => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            None => out.push(c),
        }
    }
    out
}

struct Word<'a, 'e> {
    src: &'a str,
    chars: Vec<(usize, char)>,
    i: usize,
    escape: char,
    lookup: &'a dyn Fn(&str) -> Option<&'e str>,
    undefined: Vec<(String, Range<usize>)>,
}

impl Word<'_, '_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.i).map(|(_, c)| *c)
    }

    fn pos(&self) -> usize {
        self.chars.get(self.i).map_or(self.src.len(), |(p, _)| *p)
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.i += 1;
        }
        c
    }

    fn error(&self, start: usize, message: impl Into<String>) -> ExpandError {
        ExpandError {
            message: message.into(),
            range: start..self.pos().max(start),
        }
    }

    /// Processes until `stop` (consumed) or the end of the word.
    fn until(&mut self, stop: Option<char>) -> Result<String, ExpandError> {
        let start = self.pos();
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return match stop {
                    None => Ok(out),
                    Some(s) => Err(self.error(
                        start,
                        format!("unexpected end of statement while looking for matching {s}"),
                    )),
                };
            };
            if Some(c) == stop {
                self.i += 1;
                return Ok(out);
            }
            match c {
                '\'' => out.push_str(&self.single_quoted()?),
                '"' => {
                    let at = self.pos();
                    let quoted = self.double_quoted()?;
                    self.push(&mut out, &quoted, at)?;
                }
                '$' => {
                    let at = self.pos();
                    let value = self.dollar()?;
                    self.push(&mut out, &value, at)?;
                }
                c if c == self.escape => {
                    self.i += 1;
                    if let Some(n) = self.next() {
                        out.push(n);
                    }
                }
                c => {
                    self.i += 1;
                    out.push(c);
                }
            }
        }
    }

    fn single_quoted(&mut self) -> Result<String, ExpandError> {
        let start = self.pos();
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.next() {
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
                None => {
                    return Err(self.error(
                        start,
                        "unexpected end of statement while looking for matching single-quote",
                    ));
                }
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, ExpandError> {
        let start = self.pos();
        self.i += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(self.error(
                        start,
                        "unexpected end of statement while looking for matching double-quote",
                    ));
                }
                Some('"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some('$') => {
                    let at = self.pos();
                    let value = self.dollar()?;
                    self.push(&mut out, &value, at)?;
                }
                Some(c) if c == self.escape => {
                    self.i += 1;
                    match self.peek() {
                        Some(n) if n == '"' || n == '$' || n == self.escape => {
                            self.i += 1;
                            out.push(n);
                        }
                        _ => out.push(c),
                    }
                }
                Some(c) => {
                    self.i += 1;
                    out.push(c);
                }
            }
        }
    }

    /// Appends the expansion that started at `start` to `out`, unless that makes it longer than
    /// [`MAX_VALUE`].
    fn push(&self, out: &mut String, value: &str, start: usize) -> Result<(), ExpandError> {
        if out.len().saturating_add(value.len()) > MAX_VALUE {
            return Err(self.error(
                start,
                format!("expands to more than {} KiB", MAX_VALUE >> 10),
            ));
        }
        out.push_str(value);
        Ok(())
    }

    fn name(&mut self) -> String {
        let mut name = String::new();
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    self.i += 1;
                    name.push(d);
                }
            }
            Some(c) if matches!(c, '@' | '*' | '#' | '?' | '-' | '$' | '!') => {
                self.i += 1;
                name.push(c);
            }
            _ => {
                while let Some(c) = self.peek().filter(|c| c.is_alphanumeric() || *c == '_') {
                    self.i += 1;
                    name.push(c);
                }
            }
        }
        name
    }

    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name).map(str::to_owned)
    }

    /// At a `$`.
    fn dollar(&mut self) -> Result<String, ExpandError> {
        let start = self.pos();
        self.i += 1;
        if self.peek() != Some('{') {
            let name = self.name();
            if name.is_empty() {
                return Ok("$".to_owned());
            }
            return Ok(match self.get(&name) {
                Some(v) => v,
                None => {
                    self.undefined.push((name, start..self.pos()));
                    String::new()
                }
            });
        }
        self.i += 1;
        match self.peek() {
            None => return Err(self.error(start, "syntax error: missing '}'")),
            Some('{' | '}' | ':') => {
                return Err(self.error(start, "syntax error: bad substitution"));
            }
            _ => {}
        }
        let name = self.name();
        let value = self.get(&name);
        let Some(op) = self.next() else {
            return Err(self.error(start, "syntax error: missing '}'"));
        };
        match op {
            '}' => Ok(match value {
                Some(v) => v,
                None => {
                    self.undefined.push((name, start..self.pos()));
                    String::new()
                }
            }),
            '-' | '+' | '?' => {
                let word = self.until(Some('}'))?;
                self.apply(start, &name, value, op, false, word)
            }
            ':' => {
                let Some(op2) = self.next() else {
                    return Err(self.error(start, "syntax error: missing '}'"));
                };
                if !matches!(op2, '-' | '+' | '?') {
                    return Err(self.error(
                        start,
                        format!("unsupported modifier ({op2}) in substitution"),
                    ));
                }
                let word = self.until(Some('}'))?;
                self.apply(start, &name, value, op2, true, word)
            }
            '#' | '%' => {
                let longest = self.peek() == Some(op);
                if longest {
                    self.i += 1;
                }
                let pattern = self.raw_until('}', start)?;
                let v = value.unwrap_or_default();
                Ok(remove_affix(&v, &pattern, op == '#', longest, self.escape))
            }
            '/' => {
                let all = self.peek() == Some('/');
                if all {
                    self.i += 1;
                }
                let pattern = self.raw_until('/', start)?;
                let replacement = self.until(Some('}'))?;
                let v = value.unwrap_or_default();
                Ok(replace(&v, &pattern, &replacement, all, self.escape))
            }
            c => Err(self.error(start, format!("unsupported modifier ({c}) in substitution"))),
        }
    }

    /// A pattern: expanded like a word, but escapes are kept so the matcher sees them.
    fn raw_until(&mut self, stop: char, start: usize) -> Result<String, ExpandError> {
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error(start, "syntax error: missing '}'")),
                Some(c) if c == stop => {
                    self.i += 1;
                    return Ok(out);
                }
                Some('$') => {
                    let at = self.pos();
                    let v = self.dollar()?;
                    self.push(&mut out, &v, at)?;
                }
                Some(c) if c == self.escape => {
                    self.i += 1;
                    out.push(c);
                    if let Some(n) = self.next() {
                        out.push(n);
                    }
                }
                Some(c) => {
                    self.i += 1;
                    out.push(c);
                }
            }
        }
    }

    fn apply(
        &self,
        start: usize,
        name: &str,
        value: Option<String>,
        op: char,
        colon: bool,
        word: String,
    ) -> Result<String, ExpandError> {
        // With `:`, set-but-empty counts as unset.
        let set = value.as_deref().is_some_and(|v| !colon || !v.is_empty());
        match op {
            '-' => Ok(if set { value.unwrap_or_default() } else { word }),
            '+' => Ok(if set { word } else { String::new() }),
            _ => {
                if set {
                    Ok(value.unwrap_or_default())
                } else if word.is_empty() {
                    let what = if colon { "empty" } else { "unset" };
                    Err(self.error(start, format!("{name}: is not allowed to be {what}")))
                } else {
                    Err(self.error(start, format!("{name}: {word}")))
                }
            }
        }
    }
}

/// `${V#p}` / `${V##p}` (prefix) and `${V%p}` / `${V%%p}` (suffix).
fn remove_affix(value: &str, pattern: &str, prefix: bool, longest: bool, escape: char) -> String {
    let mut pat = compile(pattern, escape);
    let mut chars: Vec<char> = value.chars().collect();
    if !prefix {
        // A suffix of the value matching the pattern is a prefix of the reversed value matching
        // the reversed pattern.
        pat.reverse();
        chars.reverse();
    }
    let Some(end) = match_end(&pat, &chars, 0, longest) else {
        return value.to_owned();
    };
    if prefix {
        chars[end..].iter().collect()
    } else {
        chars[end..].iter().rev().collect()
    }
}

/// `${V/p/r}` (first, longest match) and `${V//p/r}` (all).
fn replace(value: &str, pattern: &str, replacement: &str, all: bool, escape: char) -> String {
    let pat = compile(pattern, escape);
    let leading_star = matches!(pat.first(), Some(Pat::Star));
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::new();
    let mut start = 0;
    let mut copied = 0;
    while start < chars.len() && out.len() <= MAX_VALUE {
        match match_end(&pat, &chars, start, true).filter(|&end| end > start) {
            Some(end) => {
                out.extend(&chars[copied..start]);
                out.push_str(replacement);
                copied = end;
                start = end;
                if !all {
                    break;
                }
            }
            // With a leading `*`, a match from a later start would also be one from here.
            None if leading_star => break,
            None => start += 1,
        }
    }
    out.extend(&chars[copied..]);
    out
}

#[derive(Debug)]
enum Pat {
    Lit(char),
    Any,
    Star,
    Class(bool, Vec<(char, char)>),
}

fn compile(pattern: &str, escape: char) -> Vec<Pat> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        i += 1;
        match c {
            '*' => out.push(Pat::Star),
            '?' => out.push(Pat::Any),
            '[' => {
                let mut j = i;
                let negate = matches!(chars.get(j), Some('!' | '^'));
                if negate {
                    j += 1;
                }
                let mut ranges = Vec::new();
                let mut first = true;
                let mut closed = false;
                while let Some(&d) = chars.get(j) {
                    if d == ']' && !first {
                        closed = true;
                        j += 1;
                        break;
                    }
                    first = false;
                    if chars.get(j + 1) == Some(&'-')
                        && let Some(&hi) = chars.get(j + 2).filter(|&&h| h != ']')
                    {
                        ranges.push((d, hi));
                        j += 3;
                    } else {
                        ranges.push((d, d));
                        j += 1;
                    }
                }
                if closed {
                    out.push(Pat::Class(negate, ranges));
                    i = j;
                } else {
                    out.push(Pat::Lit('['));
                }
            }
            c if c == escape => {
                if let Some(&n) = chars.get(i) {
                    out.push(Pat::Lit(n));
                    i += 1;
                } else {
                    out.push(Pat::Lit(c));
                }
            }
            c => out.push(Pat::Lit(c)),
        }
    }
    out
}

/// The shortest (or, with `longest`, the longest) `end` such that `chars[start..end]` matches
/// `pat`. The pattern runs as a set of positions in it over the characters: O(len × pattern),
/// where trying every end with a backtracking matcher would be cubic.
fn match_end(pat: &[Pat], chars: &[char], start: usize, longest: bool) -> Option<usize> {
    // `active[p]`: the text so far can be matched by `pat[..p]`.
    let mut active = vec![false; pat.len() + 1];
    active[0] = true;
    close_stars(pat, &mut active);
    let mut found = None;
    let mut at = start;
    loop {
        if active[pat.len()] {
            found = Some(at);
            if !longest {
                return found;
            }
        }
        let Some(&c) = chars.get(at) else {
            return found;
        };
        let mut next = vec![false; pat.len() + 1];
        let mut alive = false;
        for (p, item) in pat.iter().enumerate() {
            if !active[p] {
                continue;
            }
            let to = match item {
                Pat::Star => p,
                Pat::Any => p + 1,
                Pat::Lit(l) if *l == c => p + 1,
                Pat::Class(neg, ranges)
                    if ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&c)) != *neg =>
                {
                    p + 1
                }
                Pat::Lit(_) | Pat::Class(..) => continue,
            };
            next[to] = true;
            alive = true;
        }
        if !alive {
            return found;
        }
        close_stars(pat, &mut next);
        active = next;
        at += 1;
    }
}

/// A `*` may match nothing: wherever a star is reached, the position after it is reached too.
fn close_stars(pat: &[Pat], active: &mut [bool]) {
    for (p, item) in pat.iter().enumerate() {
        if active[p] && matches!(item, Pat::Star) {
            active[p + 1] = true;
        }
    }
}

#[cfg(test)]
fn glob_match(pat: &[Pat], text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    match_end(pat, &chars, 0, true) == Some(chars.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<&'static str> {
        match name {
            "TAG" => Some("15-alpine"),
            "EMPTY" => Some(""),
            "REG" => Some("mcr.microsoft.com"),
            "V" => Some("registry/app:1.2.3"),
            _ => None,
        }
    }

    fn x(word: &str) -> String {
        match process_word(word, '\\', &env) {
            Ok(e) => e.value,
            Err(e) => format!("ERR {}", e.message),
        }
    }

    #[test]
    fn plain_and_braced() {
        assert_eq!(x("node:$TAG"), "node:15-alpine");
        assert_eq!(x("node:${TAG}"), "node:15-alpine");
        assert_eq!(x("${REG}/dotnet/sdk"), "mcr.microsoft.com/dotnet/sdk");
        assert_eq!(x("a$"), "a$");
        assert_eq!(x("a$/b"), "a$/b");
        assert_eq!(x("$1x"), "x");
    }

    #[test]
    fn defaults_and_alternatives() {
        assert_eq!(x("alpine:${NOPE:-3.20}"), "alpine:3.20");
        assert_eq!(x("alpine:${EMPTY:-3.20}"), "alpine:3.20");
        assert_eq!(x("alpine:${EMPTY-3.20}"), "alpine:");
        assert_eq!(x("alpine:${NOPE-3.20}"), "alpine:3.20");
        assert_eq!(x("alpine:${TAG:-3.20}"), "alpine:15-alpine");
        assert_eq!(x("a${TAG:+-x}"), "a-x");
        assert_eq!(x("a${EMPTY:+-x}"), "a");
        assert_eq!(x("a${EMPTY+-x}"), "a-x");
        assert_eq!(x("a${NOPE+-x}"), "a");
        assert_eq!(x("${NOPE:-${REG}}/x"), "mcr.microsoft.com/x");
        assert_eq!(x("${NOPE:-\"q r\"}"), "q r");
        assert_eq!(x("${NOPE:?must be set}"), "ERR NOPE: must be set");
        assert_eq!(x("${EMPTY:?}"), "ERR EMPTY: is not allowed to be empty");
        assert_eq!(x("${EMPTY?}"), "");
    }

    #[test]
    fn patterns() {
        assert_eq!(x("${V#*/}"), "app:1.2.3");
        assert_eq!(x("${V##*.}"), "3");
        assert_eq!(x("${V%.*}"), "registry/app:1.2");
        assert_eq!(x("${V%%:*}"), "registry/app");
        assert_eq!(x("${V/./-}"), "registry/app:1-2.3");
        assert_eq!(x("${V//./-}"), "registry/app:1-2-3");
        assert_eq!(x("${V%[0-9]}"), "registry/app:1.2.");
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(x("'$TAG'"), "$TAG");
        assert_eq!(x("\"$TAG\""), "15-alpine");
        assert_eq!(x("\\$TAG"), "$TAG");
        assert_eq!(x("\"\\$TAG\""), "$TAG");
        assert_eq!(x("\"a\\b\""), "a\\b");
        let bt = process_word("`$TAG", '`', &env).map(|e| e.value);
        assert_eq!(bt.as_deref(), Ok("$TAG"));
        assert_eq!(unquote("\"a b\"'c'\\d", '\\'), "a bcd");
    }

    #[test]
    fn errors_and_undefined() {
        assert_eq!(x("${"), "ERR syntax error: missing '}'");
        assert_eq!(x("${}"), "ERR syntax error: bad substitution");
        assert_eq!(x("${TAG"), "ERR syntax error: missing '}'");
        assert_eq!(
            x("${TAG:x}"),
            "ERR unsupported modifier (x) in substitution"
        );
        assert_eq!(x("${TAG!}"), "ERR unsupported modifier (!) in substitution");
        assert!(x("'abc").starts_with("ERR unexpected end"));
        assert!(x("\"abc").starts_with("ERR unexpected end"));
        let e = process_word("a:${NOPE}-$ALSO", '\\', &env);
        let undefined = e.map(|e| e.undefined).unwrap_or_default();
        assert_eq!(
            undefined,
            vec![("NOPE".to_owned(), 2..9), ("ALSO".to_owned(), 10..15)]
        );
        // Defaults do not warn.
        let e = process_word("${NOPE:-x}", '\\', &env);
        assert!(e.is_ok_and(|e| e.undefined.is_empty()));
        let e = process_word("${N", '\\', &env).err().map(|e| e.range);
        assert_eq!(e, Some(0..3));
    }

    /// Found while fuzzing (`fuzz/regressions/dockerfile/replace-is-cubic`): `${A//*y/z}` on a
    /// 3000-character value tried every end of every start with a backtracking matcher and did
    /// not finish. Matching is now linear per start.
    #[test]
    fn patterns_on_long_values_are_fast() {
        let long = "x".repeat(4000);
        let with_y = format!("{long}y");
        let lookup = |n: &str| match n {
            "A" => Some(long.as_str()),
            "B" => Some(with_y.as_str()),
            _ => None,
        };
        let x = |word: &str| process_word(word, '\\', &lookup).map(|e| e.value);
        let started = std::time::Instant::now();
        assert_eq!(x("${A//*y/z}").as_deref(), Ok(long.as_str()));
        assert_eq!(x("${A//x*y/z}").as_deref(), Ok(long.as_str()));
        assert_eq!(x("${B//*y/z}").as_deref(), Ok("z"));
        assert_eq!(x("${B/x*y/z}").as_deref(), Ok("z"));
        assert_eq!(x("${A##x*y}").as_deref(), Ok(long.as_str()));
        assert_eq!(x("${A%%x*y}").as_deref(), Ok(long.as_str()));
        assert_eq!(x("${B##*x}").as_deref(), Ok("y"));
        assert_eq!(x("${B%%x*}").as_deref(), Ok(""));
        assert!(started.elapsed() < std::time::Duration::from_secs(30));
    }

    /// Found while fuzzing (`fuzz/regressions/dockerfile/arg-doubling`): values that double at
    /// every `ARG` exhausted memory. A word may expand to at most `MAX_VALUE` bytes.
    #[test]
    fn expansion_is_size_limited() {
        let big = "x".repeat(MAX_VALUE / 2 + 1);
        let lookup = |n: &str| (n == "BIG").then_some(big.as_str());
        let x = |word: &str| process_word(word, '\\', &lookup);
        assert!(x("$BIG").is_ok());
        let e = x("a:$BIG$BIG").err().map(|e| e.message);
        assert_eq!(e.as_deref(), Some("expands to more than 16 KiB"));
        assert!(x("\"${BIG}${BIG}\"").is_err());
        assert!(x("${BIG//x/xx}").is_err());
    }

    #[test]
    fn pattern_edge_cases() {
        assert_eq!(x("${V#}"), "registry/app:1.2.3");
        assert_eq!(x("${V#*}"), "registry/app:1.2.3");
        assert_eq!(x("${V##*}"), "");
        assert_eq!(x("${V%*}"), "registry/app:1.2.3");
        assert_eq!(x("${V%%*}"), "");
        assert_eq!(x("${V//[a-z]/_}"), "________/___:1.2.3");
        assert_eq!(x("${V/*:/}"), "1.2.3");
        assert_eq!(x("${V//?/.}"), "..................");
        assert_eq!(x("${NOPE//a/b}"), "");
    }

    #[test]
    fn glob() {
        let m = |p: &str, t: &str| glob_match(&compile(p, '\\'), t);
        assert!(m("*", ""));
        assert!(m("a*c", "abbbc"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("[!a]b", "xb"));
        assert!(!m("[!a]b", "ab"));
        assert!(m("\\*", "*"));
        assert!(!m("\\*", "x"));
    }
}
