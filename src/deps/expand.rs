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
                '"' => out.push_str(&self.double_quoted()?),
                '$' => out.push_str(&self.dollar()?),
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
                Some('$') => out.push_str(&self.dollar()?),
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
                    let v = self.dollar()?;
                    out.push_str(&v);
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
    let pat = compile(pattern, escape);
    let bounds: Vec<usize> = value
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(value.len()))
        .collect();
    let candidates: Box<dyn Iterator<Item = &usize>> = match (prefix, longest) {
        (true, false) | (false, true) => Box::new(bounds.iter()),
        (true, true) | (false, false) => Box::new(bounds.iter().rev()),
    };
    for &b in candidates {
        let (head, tail) = value.split_at(b);
        if prefix && glob_match(&pat, head) {
            return tail.to_owned();
        }
        if !prefix && glob_match(&pat, tail) {
            return head.to_owned();
        }
    }
    value.to_owned()
}

/// `${V/p/r}` (first, longest match) and `${V//p/r}` (all).
fn replace(value: &str, pattern: &str, replacement: &str, all: bool, escape: char) -> String {
    let pat = compile(pattern, escape);
    let bounds: Vec<usize> = value
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(value.len()))
        .collect();
    let mut out = String::new();
    let mut s = 0; // index into bounds
    let mut copied = 0; // byte offset copied so far
    while s < bounds.len() {
        let start = bounds[s];
        let found = bounds[s..]
            .iter()
            .rev()
            .find(|&&e| e > start && value.get(start..e).is_some_and(|t| glob_match(&pat, t)));
        match found {
            Some(&end) => {
                out.push_str(&value[copied..start]);
                out.push_str(replacement);
                copied = end;
                if !all {
                    break;
                }
                s = bounds
                    .iter()
                    .position(|&b| b == end)
                    .unwrap_or(bounds.len());
            }
            None => s += 1,
        }
    }
    out.push_str(&value[copied..]);
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

fn glob_match(pat: &[Pat], text: &str) -> bool {
    let t: Vec<char> = text.chars().collect();
    // Classic two-pointer wildcard matching with backtracking to the last star.
    let (mut p, mut s) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while s < t.len() {
        let step = match pat.get(p) {
            Some(Pat::Star) => {
                star = Some((p, s));
                p += 1;
                continue;
            }
            Some(Pat::Any) => true,
            Some(Pat::Lit(c)) => *c == t[s],
            Some(Pat::Class(neg, ranges)) => {
                ranges.iter().any(|(lo, hi)| (*lo..=*hi).contains(&t[s])) != *neg
            }
            None => false,
        };
        if step {
            p += 1;
            s += 1;
        } else if let Some((sp, ss)) = star {
            p = sp + 1;
            s = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    pat.get(p..)
        .is_some_and(|rest| rest.iter().all(|x| matches!(x, Pat::Star)))
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
