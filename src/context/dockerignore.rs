//! `.dockerignore` parsing and matching with Docker's own rules.
//!
//! This is a port, written from the documented behaviour, of moby's `patternmatcher` package and
//! of its `ignorefile.ReadAll` (the `.dockerignore` reader used by the docker CLI and BuildKit).
//! It is **not** gitignore: Docker's patterns are anchored at the context root, so `*.md`
//! excludes `CHANGELOG.md` but keeps `docs/guide.md`, and `node_modules` only means the one at the
//! root.
//!
//! # Reading the file
//!
//! * Lines are split on `\n`; a trailing `\r` and a UTF-8 BOM on the first line are dropped.
//! * A line whose **first character** is `#` is a comment. The check happens before trimming,
//!   as in Docker, so `  # x` is the pattern `# x`, not a comment.
//! * Lines are trimmed (Unicode whitespace, both sides); empty lines are skipped.
//! * A leading `!` makes an exception (re-include); whitespace after the `!` is trimmed too.
//!   A `!` with nothing after it is an error.
//! * The rest is cleaned like Go's `filepath.Clean` (`a//b/./c/../d` → `a/b/d`, trailing `/`
//!   dropped, so `dir/` also matches a *file* named `dir`), and one leading `/` is dropped
//!   (`/foo` ≡ `foo`). `./x` ≡ `x`.
//!
//! # Matching
//!
//! Paths are relative to the context root, `/`-separated.
//!
//! * `*` matches any run of characters except `/`; `?` one character except `/`.
//! * `**` matches any number of path segments, including none: `**/x` matches `x` and `a/b/x`;
//!   `a/**/b` matches `a/b` and `a/x/y/b`; `a/**` matches everything below `a` (but not `a`).
//!   Docker's shortcuts are reproduced: a pattern that starts with `**` and has no other
//!   wildcard is a plain suffix test, so `**.md` matches `a/b.md` and `**foo` matches `xfoo`.
//! * `[abc]`, `[a-z]`, `[^a-z]` are character classes. As in Docker (Go's `filepath.Match`), only
//!   `^` negates: `[!a]` means "`!` or `a`". A negated class can match `/`, as in Docker.
//! * `\` escapes the next character, which then matches literally. (Docker hands the escape to
//!   its regex engine, where `\d` or `\w` would become classes and some letters make the pattern
//!   fail; taskrun always treats the escaped character literally.)
//! * Malformed patterns (unclosed `[`, `[]`, `[a-]`, reversed range, trailing `\`) are errors,
//!   as `filepath.Match` reports them in Docker.
//! * A path is excluded when the last rule that matches it is a plain pattern; an exception `!p`
//!   that matches later re-includes it. A rule that matches a **parent directory** matches
//!   everything below it (`node_modules` excludes `node_modules/a/b.js`).
//! * Parent matches are evaluated the way Docker's context walker does it
//!   (`MatchesUsingParentResults`): each directory remembers which rules matched it or one of its
//!   parents, and its children inherit those results. This equals `MatchesOrParentMatches`
//!   except in one corner: an exception that matches only a parent directory does not re-include
//!   children excluded by an earlier rule evaluated on the child itself (`a/*` then `!a` keeps
//!   `a/f` excluded), which is what `docker build` does.
//!
//! # Walking
//!
//! [`DockerIgnore::dir_may_contain_included`] tells a walker whether an excluded directory can be
//! skipped: only when no exception rule could match anything below it. Unlike the classic
//! builder, which only keeps walking when an exception literally starts with `dir/`, wildcard
//! exceptions (`!**/keep.txt`, `!*/keep`) are honoured inside excluded directories, as BuildKit
//! does. The set of files sent is therefore exactly "every path for which
//! [`DockerIgnore::is_excluded`] is false".
//!
//! # Build files
//!
//! [`DockerIgnore::keep_build_files`] reproduces the docker CLI's rule that `.dockerignore` and
//! the Dockerfile are always sent (the CLI appends `!.dockerignore` and `!<Dockerfile>` when they
//! are excluded; the daemon reads the Dockerfile, then removes both from the context if
//! `.dockerignore` excludes them, so `COPY . .` still does not see them).

use std::borrow::Cow;

use regex::Regex;

/// A `.dockerignore` line that is not a valid pattern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: invalid pattern `{pattern}`: {reason}")]
pub struct PatternError {
    /// 1-based line number in the `.dockerignore` text (0 for patterns added programmatically).
    pub line: usize,
    /// The line as written (trimmed).
    pub pattern: String,
    /// What is wrong with it.
    pub reason: String,
}

/// How one pattern is tested (Docker's `matchType`).
#[derive(Debug, Clone)]
enum Matcher {
    /// The path equals the pattern.
    Exact(String),
    /// `foo/**`, `foo**`: the path starts with the text before `**`.
    Prefix(String),
    /// `**/foo`, `**foo`: the path ends with the text after `**` (or equals it without the `/`).
    Suffix(String),
    /// Anything with wildcards, classes or escapes.
    Regex(Regex),
}

impl Matcher {
    fn is_match(&self, path: &str) -> bool {
        match self {
            Matcher::Exact(p) => path == p,
            Matcher::Prefix(p) => path.starts_with(p.as_str()),
            Matcher::Suffix(s) => {
                path.ends_with(s.as_str()) || s.strip_prefix('/').is_some_and(|rest| path == rest)
            }
            Matcher::Regex(re) => re.is_match(path),
        }
    }
}

/// One path segment of an exception pattern, for [`DockerIgnore::dir_may_contain_included`].
#[derive(Debug, Clone)]
enum Segment {
    /// Contains `**`: may match any number of segments.
    Deep,
    /// Matches exactly one path segment.
    One(Regex),
}

#[derive(Debug, Clone)]
struct Pattern {
    /// The cleaned pattern, without the leading `!`.
    text: String,
    exclusion: bool,
    matcher: Matcher,
    /// For exceptions: the pattern split in segments; `None` when that analysis is not possible
    /// (character classes, escaped `/`), in which case the walker must always descend.
    segments: Option<Vec<Segment>>,
}

impl Pattern {
    fn new(text: String, exclusion: bool, line: usize, raw: &str) -> Result<Self, PatternError> {
        let err = |reason: String| PatternError {
            line,
            pattern: raw.to_string(),
            reason,
        };
        validate(&text).map_err(err)?;
        let matcher = compile(&text).map_err(err)?;
        let segments = if exclusion { segments(&text) } else { None };
        Ok(Pattern {
            text,
            exclusion,
            matcher,
            segments,
        })
    }

    /// Whether this exception could match some path strictly below `dir` (given as components).
    fn may_match_below(&self, dir: &[&str]) -> bool {
        let Some(segments) = &self.segments else {
            return true;
        };
        for (i, seg) in segments.iter().enumerate() {
            match seg {
                Segment::Deep => return true,
                Segment::One(re) => match dir.get(i) {
                    Some(component) => {
                        if !re.is_match(component) {
                            return false;
                        }
                    }
                    // The pattern is longer than the directory path: it can match below it.
                    None => return true,
                },
            }
        }
        // The pattern has no more segments than the directory: it can only match the directory
        // itself or one of its parents, never something strictly below.
        false
    }
}

/// Which rules matched a directory or one of its parents (Docker's `MatchInfo`).
///
/// Obtained from [`DockerIgnore::matches_with_parent`] for a directory and passed back in for
/// its children. [`MatchInfo::default`] means "no parent information" (top-level entries).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MatchInfo {
    parent_matched: Vec<bool>,
}

/// Parsed `.dockerignore` rules. [`DockerIgnore::default`] excludes nothing.
#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

impl DockerIgnore {
    /// Parses the text of a `.dockerignore` file (see the module docs for the rules).
    pub fn parse(text: &str) -> Result<DockerIgnore, PatternError> {
        let mut ignore = DockerIgnore::default();
        for (index, raw) in text.split('\n').enumerate() {
            let mut line = raw.strip_suffix('\r').unwrap_or(raw);
            if index == 0 {
                line = line.strip_prefix('\u{feff}').unwrap_or(line);
            }
            if line.starts_with('#') {
                continue;
            }
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            ignore.push_rule(trimmed, index + 1)?;
        }
        Ok(ignore)
    }

    /// Builds rules from individual patterns, each processed exactly like one `.dockerignore`
    /// line (comments and empty entries are skipped). Errors carry the 1-based index.
    pub fn from_patterns<'a>(
        patterns: impl IntoIterator<Item = &'a str>,
    ) -> Result<DockerIgnore, PatternError> {
        let mut ignore = DockerIgnore::default();
        for (index, raw) in patterns.into_iter().enumerate() {
            if raw.starts_with('#') {
                continue;
            }
            let trimmed = raw.trim();
            if !trimmed.is_empty() {
                ignore.push_rule(trimmed, index + 1)?;
            }
        }
        Ok(ignore)
    }

    fn push_rule(&mut self, trimmed: &str, line: usize) -> Result<(), PatternError> {
        let (exclusion, body) = match trimmed.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, trimmed),
        };
        let mut text = if body.is_empty() {
            String::new()
        } else {
            clean(body)
        };
        if text.len() > 1 && text.starts_with('/') {
            text.remove(0);
        }
        // Docker re-cleans "!" + pattern, so "!/" collapses to "!" and is refused as well.
        if exclusion && (text.is_empty() || text == "/") {
            return Err(PatternError {
                line,
                pattern: trimmed.to_string(),
                reason: "illegal exclusion pattern: \"!\"".to_string(),
            });
        }
        self.patterns
            .push(Pattern::new(text, exclusion, line, trimmed)?);
        Ok(())
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Number of rules (after skipping comments and empty lines).
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// True when at least one rule is an exception (`!pattern`).
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }

    /// The rules in their normalised form (`!` kept for exceptions), in order.
    pub fn patterns(&self) -> Vec<String> {
        self.patterns
            .iter()
            .map(|p| {
                if p.exclusion {
                    format!("!{}", p.text)
                } else {
                    p.text.clone()
                }
            })
            .collect()
    }

    /// Whether `rel_path` (relative to the context root, `/`-separated; a leading `./` or `/` and
    /// trailing `/` are ignored) is excluded from the context. Parent directories are taken into
    /// account exactly as Docker's walker does. The context root itself is never excluded.
    pub fn is_excluded(&self, rel_path: &str) -> bool {
        if self.patterns.is_empty() {
            return false;
        }
        let path = normalize(rel_path);
        if path.is_empty() || path == "." {
            return false;
        }
        let mut info = MatchInfo::default();
        let mut end = 0;
        loop {
            let next = path[end..].find('/').map(|i| end + i);
            let prefix = &path[..next.unwrap_or(path.len())];
            let (excluded, i) = self.matches_with_parent(prefix, &info);
            info = i;
            match next {
                Some(slash) => end = slash + 1,
                None => return excluded,
            }
        }
    }

    /// One step of Docker's walk-order matching (`MatchesUsingParentResults`): whether
    /// `rel_path` is excluded given the [`MatchInfo`] of its parent directory (default for
    /// top-level entries), and the info to pass to its children if it is a directory.
    /// `rel_path` must be normalised (no leading `./` or `/`, no trailing `/`).
    pub fn matches_with_parent(&self, rel_path: &str, parent: &MatchInfo) -> (bool, MatchInfo) {
        let inherited =
            parent.parent_matched.len() == self.patterns.len() && !parent.parent_matched.is_empty();
        let mut matched = false;
        let mut out = vec![false; self.patterns.len()];
        for (i, pattern) in self.patterns.iter().enumerate() {
            let mut hit = inherited && parent.parent_matched[i];
            if !hit {
                // Inclusions are only evaluated while not excluded, exceptions only while
                // excluded.
                if pattern.exclusion != matched {
                    continue;
                }
                hit = pattern.matcher.is_match(rel_path);
                if !hit && !inherited {
                    hit = parents(rel_path).any(|p| pattern.matcher.is_match(p));
                }
            }
            out[i] = hit;
            if hit {
                matched = !pattern.exclusion;
            }
        }
        (
            matched,
            MatchInfo {
                parent_matched: out,
            },
        )
    }

    /// For an **excluded** directory: whether something below it could still be included by an
    /// exception rule, so a walker has to descend into it. `false` means the whole subtree can be
    /// skipped. Conservative: `true` whenever that cannot be ruled out cheaply.
    pub fn dir_may_contain_included(&self, rel_dir: &str) -> bool {
        if !self.has_exceptions() {
            return false;
        }
        let dir = normalize(rel_dir);
        if dir.is_empty() || dir == "." {
            return true;
        }
        let components: Vec<&str> = dir.split('/').collect();
        self.patterns
            .iter()
            .filter(|p| p.exclusion)
            .any(|p| p.may_match_below(&components))
    }

    /// Makes sure `.dockerignore` and the Dockerfile (path relative to the context root) are not
    /// excluded, by appending literal exceptions for them when they are — the docker CLI's
    /// `TrimBuildFilesFromExcludes`.
    pub fn keep_build_files(&mut self, dockerfile: Option<&str>) {
        for file in [Some(".dockerignore"), dockerfile].into_iter().flatten() {
            let path = normalize(file).into_owned();
            if path.is_empty() || !self.is_excluded(&path) {
                continue;
            }
            let literal = escape_glob(&path);
            if let Ok(pattern) = Pattern::new(literal.clone(), true, 0, &format!("!{literal}")) {
                self.patterns.push(pattern);
            }
        }
    }
}

/// Proper parent directories of a normalised relative path, shortest first (`a/b/c` → `a`,
/// `a/b`).
fn parents(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

/// Strips `./` and `/` prefixes and trailing `/`; cleans the path when it has odd segments.
fn normalize(path: &str) -> Cow<'_, str> {
    let simple = !path.is_empty()
        && !path.starts_with('/')
        && !path.ends_with('/')
        && path
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..");
    if simple {
        return Cow::Borrowed(path);
    }
    let cleaned = clean(path);
    let trimmed = cleaned.trim_start_matches('/');
    if trimmed == "." {
        Cow::Owned(String::new())
    } else {
        Cow::Owned(trimmed.to_string())
    }
}

/// Go's `filepath.Clean` for `/`-separated paths.
pub(crate) fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".to_string();
    }
    let rooted = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|last| *last != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    let joined = out.join("/");
    if rooted {
        format!("/{joined}")
    } else if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

/// Escapes glob metacharacters so that `path` matches only itself.
fn escape_glob(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A parsed `[...]` class.
struct Class {
    negated: bool,
    ranges: Vec<(char, char)>,
    /// Index just after the closing `]`.
    end: usize,
}

/// Parses a class starting at `chars[start] == '['`, with Go `filepath.Match`'s rules: the first
/// item may not be `]` or `-` (unless escaped), `-` must be followed by an item, `\` escapes.
fn parse_class(chars: &[char], start: usize) -> Result<Class, String> {
    let mut i = start + 1;
    let mut negated = false;
    if chars.get(i) == Some(&'^') {
        negated = true;
        i += 1;
    }
    let mut ranges = Vec::new();
    loop {
        if chars.get(i) == Some(&']') && !ranges.is_empty() {
            i += 1;
            break;
        }
        let (lo, next) = class_char(chars, i)?;
        i = next;
        let mut hi = lo;
        if chars.get(i) == Some(&'-') {
            let (h, next) = class_char(chars, i + 1)?;
            hi = h;
            i = next;
        }
        if lo > hi {
            return Err(format!("character class range {lo}-{hi} is out of order"));
        }
        ranges.push((lo, hi));
    }
    Ok(Class {
        negated,
        ranges,
        end: i,
    })
}

/// One (possibly escaped) class character at `i`; returns it and the index after it.
fn class_char(chars: &[char], i: usize) -> Result<(char, usize), String> {
    let unterminated = || "unterminated character class `[`".to_string();
    let mut i = i;
    let mut c = *chars.get(i).ok_or_else(unterminated)?;
    if c == '-' || c == ']' {
        return Err(format!("unexpected `{c}` in character class"));
    }
    if c == '\\' {
        i += 1;
        c = *chars.get(i).ok_or_else(unterminated)?;
    }
    i += 1;
    if i >= chars.len() {
        return Err(unterminated());
    }
    Ok((c, i))
}

/// Syntax check with `filepath.Match`'s rules (Docker refuses the pattern when Go does).
fn validate(pattern: &str) -> Result<(), String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                if i + 1 >= chars.len() {
                    return Err("trailing `\\` escapes nothing".to_string());
                }
                i += 2;
            }
            '[' => i = parse_class(&chars, i)?.end,
            _ => i += 1,
        }
    }
    Ok(())
}

fn push_literal(re: &mut String, c: char) {
    let mut buf = [0u8; 4];
    re.push_str(&regex::escape(c.encode_utf8(&mut buf)));
}

fn push_class(re: &mut String, class: &Class) {
    re.push('[');
    if class.negated {
        re.push('^');
    }
    for &(lo, hi) in &class.ranges {
        push_literal(re, lo);
        if hi != lo {
            re.push('-');
            push_literal(re, hi);
        }
    }
    re.push(']');
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Exact,
    Prefix,
    Suffix,
    Regex,
}

/// Translates a validated, cleaned pattern into a [`Matcher`] (Docker's `compile`).
fn compile(pattern: &str) -> Result<Matcher, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut re = String::from("^");
    let mut kind = Kind::Exact;
    let mut i = 0;
    let mut step = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                if i >= chars.len() {
                    if kind == Kind::Exact {
                        kind = Kind::Prefix;
                    } else {
                        re.push_str(".*");
                        kind = Kind::Regex;
                    }
                } else {
                    re.push_str("(?:.*/)?");
                    kind = Kind::Regex;
                }
                if step == 0 {
                    kind = Kind::Suffix;
                }
            }
            '*' => {
                re.push_str("[^/]*");
                kind = Kind::Regex;
            }
            '?' => {
                re.push_str("[^/]");
                kind = Kind::Regex;
            }
            '\\' => {
                if let Some(&next) = chars.get(i) {
                    i += 1;
                    push_literal(&mut re, next);
                } else {
                    push_literal(&mut re, '\\');
                }
                kind = Kind::Regex;
            }
            '[' => {
                let class = parse_class(&chars, i - 1)?;
                i = class.end;
                push_class(&mut re, &class);
                kind = Kind::Regex;
            }
            ']' => {
                push_literal(&mut re, ']');
                kind = Kind::Regex;
            }
            other => push_literal(&mut re, other),
        }
        step += 1;
    }
    Ok(match kind {
        Kind::Exact => Matcher::Exact(pattern.to_string()),
        // Both shapes start/end with the ASCII `**`, so byte slicing is on char boundaries.
        Kind::Prefix => Matcher::Prefix(pattern[..pattern.len() - 2].to_string()),
        Kind::Suffix => Matcher::Suffix(pattern[2..].to_string()),
        Kind::Regex => {
            re.push('$');
            Matcher::Regex(Regex::new(&re).map_err(|e| e.to_string())?)
        }
    })
}

/// Splits an exception pattern into per-segment matchers; `None` when a segment could match
/// more or less than one path component in ways this analysis does not model.
fn segments(pattern: &str) -> Option<Vec<Segment>> {
    if pattern.contains('[') || pattern.contains(']') {
        return None;
    }
    pattern
        .split('/')
        .map(|seg| {
            if seg.contains("**") {
                Some(Segment::Deep)
            } else {
                segment_regex(seg).map(Segment::One)
            }
        })
        .collect()
}

fn segment_regex(seg: &str) -> Option<Regex> {
    let mut re = String::from("^");
    let mut chars = seg.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            // A trailing `\` here means the pattern escaped a `/`: give up (conservative).
            '\\' => push_literal(&mut re, chars.next()?),
            other => push_literal(&mut re, other),
        }
    }
    re.push('$');
    Regex::new(&re).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ig(text: &str) -> DockerIgnore {
        match DockerIgnore::parse(text) {
            Ok(ig) => ig,
            Err(e) => panic!("parse {text:?}: {e}"),
        }
    }

    /// A single pattern tested on its own (with parent-directory matching), like moby's
    /// `TestMatches` table.
    fn single(pattern: &str, path: &str) -> bool {
        ig(pattern).is_excluded(path)
    }

    #[test]
    fn moby_style_single_pattern_table() {
        let table: &[(&str, &str, bool)] = &[
            ("**", "file", true),
            ("**", "file/", true),
            ("**/", "file", true),
            ("**", "dir/file", true),
            ("**/", "dir/file", true),
            ("**", "dir/file/", true),
            ("**/**", "dir/file", true),
            ("**/**", "dir/file/", true),
            ("dir/**", "dir/file", true),
            ("dir/**", "dir/file/", true),
            ("dir/**", "dir/dir2/file", true),
            ("dir/**", "dir/dir2/file/", true),
            ("**/dir", "dir", true),
            ("**/dir", "dir/file", true),
            ("**/dir2/*", "dir/dir2/file", true),
            ("**/dir2/*", "dir/dir2/file/", true),
            ("**/dir2/**", "dir/dir2/dir3/file", true),
            ("**/dir2/**", "dir/dir2/dir3/file/", true),
            ("**file", "file", true),
            ("**file", "dir/file", true),
            ("**/file", "dir/file", true),
            ("**file", "dir/dir/file", true),
            ("**/file", "dir/dir/file", true),
            ("**/file*", "dir/dir/file", true),
            ("**/file*", "dir/dir/file.txt", true),
            ("**/file*txt", "dir/dir/file.txt", true),
            ("**/file*.txt", "dir/dir/file.txt", true),
            ("**/file*.txt*", "dir/dir/file.txt", true),
            ("**/**/*.txt", "dir/dir/file.txt", true),
            ("**/**/*.txt2", "dir/dir/file.txt", false),
            ("**/*.txt", "file.txt", true),
            ("**/**/*.txt", "file.txt", true),
            ("a**/*.txt", "a/file.txt", true),
            ("a**/*.txt", "a/dir/file.txt", true),
            ("a**/*.txt", "a/dir/dir/file.txt", true),
            ("a/*.txt", "a/dir/file.txt", false),
            ("a/*.txt", "a/file.txt", true),
            ("a/*.txt**", "a/file.txt", true),
            ("a[b-d]e", "ae", false),
            ("a[b-d]e", "ace", true),
            ("a[b-d]e", "aae", false),
            ("a[^b-d]e", "aze", true),
            (".*", ".foo", true),
            (".*", "foo", false),
            ("abc.def", "abcdef", false),
            ("abc.def", "abc.def", true),
            ("abc.def", "abcZdef", false),
            ("abc?def", "abcZdef", true),
            ("abc?def", "abcdef", false),
            ("a\\\\", "a\\", true),
            ("**/foo/bar", "foo/bar", true),
            ("**/foo/bar", "dir/foo/bar", true),
            ("**/foo/bar", "dir/dir2/foo/bar", true),
            ("abc/**", "abc", false),
            ("abc/**", "abc/def", true),
            ("abc/**", "abc/def/ghi", true),
            ("**/.foo", ".foo", true),
            ("**/.foo", "bar.foo", false),
            ("a(b)c/def", "a(b)c/def", true),
            ("a(b)c/def", "a(b)c/xyz", false),
            ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
            (
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                true,
            ),
            (
                "dist/*.whl",
                "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
                true,
            ),
        ];
        for (pattern, path, want) in table {
            assert_eq!(
                single(pattern, path),
                *want,
                "pattern {pattern:?} path {path:?}"
            );
        }
    }

    #[test]
    fn reference_table_differs_from_gitignore() {
        // dependencies.md §7: the same rules through real `docker build`.
        let rules = ig("*.md\n!README.md\nnode_modules\n");
        assert!(rules.is_excluded("CHANGELOG.md"));
        assert!(!rules.is_excluded("README.md"));
        assert!(!rules.is_excluded("docs/guide.md"));
        assert!(!rules.is_excluded("web/node_modules/x.js"));
        assert!(rules.is_excluded("node_modules/y.js"));
        assert!(rules.is_excluded("node_modules"));
    }

    #[test]
    fn star_and_question_do_not_cross_slash() {
        let rules = ig("*.md\na?b\n");
        assert!(rules.is_excluded("x.md"));
        assert!(!rules.is_excluded("docs/x.md"));
        assert!(rules.is_excluded("acb"));
        assert!(!rules.is_excluded("a/b"));
    }

    #[test]
    fn double_star_matches_any_depth_including_zero() {
        let rules = ig("**/*.go\n");
        assert!(rules.is_excluded("main.go"));
        assert!(rules.is_excluded("a/b/c/main.go"));
        assert!(!rules.is_excluded("main.rs"));
        let rules = ig("a/**/b\n");
        assert!(rules.is_excluded("a/b"));
        assert!(rules.is_excluded("a/x/b"));
        assert!(rules.is_excluded("a/x/y/b"));
        assert!(rules.is_excluded("a/x/y/b/inside"));
        assert!(!rules.is_excluded("x/a/b"));
        assert!(!rules.is_excluded("a/bb"));
        let rules = ig("**/node_modules\n");
        assert!(rules.is_excluded("node_modules/x"));
        assert!(rules.is_excluded("web/node_modules/x"));
    }

    #[test]
    fn docker_suffix_shortcut_quirk() {
        // A leading `**` with no other wildcard is a plain suffix test in Docker.
        assert!(single("**.md", "a/b.md"));
        assert!(single("**.md", "README.md"));
        assert!(single("**foo", "xfoo"));
        assert!(single("**foo", "a/xfoo"));
        // With another wildcard it is a real regex again: `(.*/)?` then the rest.
        assert!(!single("**.m?", "a/b.md"));
        assert!(single("**.m?", "a/.md"));
    }

    #[test]
    fn node_modules_only_at_root() {
        let rules = ig("node_modules");
        assert!(rules.is_excluded("node_modules"));
        assert!(rules.is_excluded("node_modules/a/b.js"));
        assert!(!rules.is_excluded("web/node_modules"));
        assert!(!rules.is_excluded("web/node_modules/a.js"));
    }

    #[test]
    fn exceptions_and_last_rule_wins() {
        let rules = ig("*.txt\n!keep.txt\n");
        assert!(rules.is_excluded("a.txt"));
        assert!(!rules.is_excluded("keep.txt"));
        let rules = ig("!keep.txt\n*.txt\n");
        assert!(
            rules.is_excluded("keep.txt"),
            "a later rule overrides the exception"
        );
        let rules = ig("*.txt\n!*.txt\nsecret.txt\n");
        assert!(rules.is_excluded("secret.txt"));
        assert!(!rules.is_excluded("other.txt"));
    }

    #[test]
    fn exception_re_includes_under_excluded_dir() {
        let rules = ig("docs\n!docs/README.md\n");
        assert!(rules.is_excluded("docs"));
        assert!(rules.is_excluded("docs/other.md"));
        assert!(!rules.is_excluded("docs/README.md"));
        assert!(rules.dir_may_contain_included("docs"));
        assert!(!rules.dir_may_contain_included("src"));
    }

    #[test]
    fn star_then_go_exception_is_the_classic_gotcha() {
        // `*` excludes the directory `a`, and `!*.go` only matches top-level names.
        let rules = ig("*\n!*.go\n");
        assert!(!rules.is_excluded("main.go"));
        assert!(rules.is_excluded("a/b.go"));
        assert!(!rules.dir_may_contain_included("a"));
        let rules = ig("*\n!**/*.go\n");
        assert!(!rules.is_excluded("a/b.go"));
        assert!(rules.is_excluded("a/b.rs"));
        assert!(rules.dir_may_contain_included("a"));
    }

    #[test]
    fn wildcard_exception_inside_excluded_dir() {
        let rules = ig("*\n!*/keep\n");
        assert!(rules.is_excluded("x"));
        assert!(!rules.is_excluded("x/keep"));
        assert!(rules.is_excluded("x/other"));
        assert!(rules.dir_may_contain_included("x"));
        assert!(!rules.dir_may_contain_included("x/y"));
    }

    #[test]
    fn parent_results_corner_case() {
        // Docker's walker: `!a` was never evaluated for `a` (not excluded at that point), so
        // `a/f`, excluded by `a/*` on its own path, stays excluded.
        let rules = ig("a/*\n!a\n");
        assert!(!rules.is_excluded("a"));
        assert!(rules.is_excluded("a/f"));
        // Exceptions evaluated on the parent are inherited.
        let rules = ig("a\n!a\n");
        assert!(!rules.is_excluded("a/f"));
    }

    #[test]
    fn character_classes() {
        let rules = ig("[a-c].txt\n");
        assert!(rules.is_excluded("a.txt"));
        assert!(rules.is_excluded("c.txt"));
        assert!(!rules.is_excluded("d.txt"));
        let rules = ig("[^a].txt\n");
        assert!(rules.is_excluded("b.txt"));
        assert!(!rules.is_excluded("a.txt"));
        // Only `^` negates, as in Go's filepath.Match.
        let rules = ig("[!a].txt\n");
        assert!(rules.is_excluded("!.txt"));
        assert!(rules.is_excluded("a.txt"));
        assert!(!rules.is_excluded("b.txt"));
        // Escapes and regex-significant characters inside classes are literal.
        let rules = ig("x[\\]].txt\ny[.&~\\-].txt\n");
        assert!(rules.is_excluded("x].txt"));
        assert!(rules.is_excluded("y&.txt"));
        assert!(rules.is_excluded("y-.txt"));
        assert!(!rules.is_excluded("yz.txt"));
        // Non-ASCII ranges.
        let rules = ig("[à-é]\n");
        assert!(rules.is_excluded("è"));
        assert!(!rules.is_excluded("z"));
    }

    #[test]
    fn escapes_are_literal() {
        let rules = ig("\\*.txt\na\\?\n\\d\n");
        assert!(rules.is_excluded("*.txt"));
        assert!(!rules.is_excluded("a.txt"));
        assert!(rules.is_excluded("a?"));
        assert!(!rules.is_excluded("ab"));
        assert!(rules.is_excluded("d"));
        assert!(!rules.is_excluded("1"));
    }

    #[test]
    fn leading_slash_dot_slash_trailing_slash_and_cleaning() {
        let rules = ig("/foo\n");
        assert!(rules.is_excluded("foo"));
        assert!(!rules.is_excluded("x/foo"));
        assert!(ig("./x").is_excluded("x"));
        assert!(ig("./x").is_excluded("x/y"));
        // A trailing slash does not restrict to directories: it is cleaned away.
        assert!(ig("x/").is_excluded("x"));
        assert!(ig("x/").is_excluded("x/y"));
        assert!(ig("foo/../bar").is_excluded("bar"));
        assert!(ig("a//b/./c").is_excluded("a/b/c"));
        // `..` above the root can never match a context path.
        assert!(!ig("../x").is_excluded("x"));
        assert_eq!(ig("/../x").patterns(), vec!["x".to_string()]);
        // A lone `/` matches nothing.
        assert!(!ig("/").is_excluded("x"));
    }

    #[test]
    fn comments_whitespace_bom_crlf() {
        let rules =
            ig("\u{feff}# comment\r\n  spaced.txt  \r\n\t\r\n  # not a comment\n! kept\n*\n");
        assert_eq!(
            rules.patterns(),
            vec!["spaced.txt", "# not a comment", "!kept", "*"]
        );
        assert!(rules.is_excluded("spaced.txt"));
        assert!(rules.is_excluded("# not a comment"));
        // BOM only stripped on the first line.
        let rules = ig("a\n\u{feff}b\n");
        assert_eq!(rules.patterns(), vec!["a", "\u{feff}b"]);
    }

    #[test]
    fn invalid_patterns_are_errors_with_line_numbers() {
        for (text, line) in [
            ("ok\n[", 2),
            ("[^bc", 1),
            ("a\\", 1),
            ("[]a]", 1),
            ("[a-]", 1),
            ("[-a]", 1),
            ("[z-a]", 1),
            ("x\n\n!", 3),
            ("!   ", 1),
            ("!/", 1),
        ] {
            match DockerIgnore::parse(text) {
                Ok(_) => panic!("{text:?} should be rejected"),
                Err(e) => assert_eq!(e.line, line, "{text:?}: {e}"),
            }
        }
        // Escaped `]`/`-` as first class items are fine.
        assert!(DockerIgnore::parse("[\\]a]\n[\\-a]").is_ok());
        let err = DockerIgnore::parse("[").err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("line 1: invalid pattern `[`: unterminated character class `[`")
        );
    }

    #[test]
    fn keep_build_files_adds_exceptions_only_when_needed() {
        let mut rules = ig("*\n");
        rules.keep_build_files(Some("Dockerfile"));
        assert!(!rules.is_excluded(".dockerignore"));
        assert!(!rules.is_excluded("Dockerfile"));
        assert!(rules.is_excluded("other"));
        assert_eq!(rules.patterns(), vec!["*", "!.dockerignore", "!Dockerfile"]);

        let mut rules = ig("build\n");
        rules.keep_build_files(Some("build/Dockerfile"));
        assert!(!rules.is_excluded("build/Dockerfile"));
        assert!(rules.is_excluded("build/other"));
        assert!(rules.dir_may_contain_included("build"));

        // Glob characters in the Dockerfile name are escaped.
        let mut rules = ig("Docker*\n");
        rules.keep_build_files(Some("Docker[1]file"));
        assert!(!rules.is_excluded("Docker[1]file"));
        assert!(rules.is_excluded("Docker1file"));

        let mut rules = ig("*.md\n");
        rules.keep_build_files(Some("Dockerfile"));
        assert_eq!(rules.patterns(), vec!["*.md"], "nothing to add");
    }

    #[test]
    fn dir_may_contain_included_cases() {
        assert!(!ig("a\n").dir_may_contain_included("a"), "no exceptions");
        assert!(ig("a\n!a/b/c\n").dir_may_contain_included("a"));
        assert!(ig("a\n!a/b/c\n").dir_may_contain_included("a/b"));
        assert!(!ig("a\n!a/b/c\n").dir_may_contain_included("a/b/c"));
        assert!(!ig("a\n!a/b/c\n").dir_may_contain_included("a/x"));
        assert!(ig("a\n!**\n").dir_may_contain_included("a"));
        assert!(ig("a\n!a/**/x\n").dir_may_contain_included("a/q/r"));
        assert!(
            ig("a\n![ab]/x\n").dir_may_contain_included("a"),
            "classes: conservative"
        );
        assert!(ig("a\n!a/\\*\n").dir_may_contain_included("a"));
        assert!(!ig("a\n!a/\\*\n").dir_may_contain_included("a/x"));
        assert!(!ig("!a\na\n").dir_may_contain_included("a"));
        assert!(ig("*\n!*/k?ep\n").dir_may_contain_included("anything"));
    }

    /// Soundness of the skip decision: when it says "skip", nothing below is included.
    #[test]
    fn dir_skip_is_sound_over_a_grid() {
        let rule_sets = [
            "*\n!*.go",
            "*\n!**/*.go",
            "a\n!a/b",
            "a\n!a/*/c",
            "a/*\n!a",
            "a\n!a\na/b\n!a/b/c",
            "**/x\n!**/x/keep",
            "*\n!?/k*",
            "b*\n!b?/c\n",
            "a\n![a-c]/c",
            "**\n!a/**",
        ];
        let paths = [
            "a",
            "a/b",
            "a/b/c",
            "a/b/c/d",
            "a/c",
            "a/x",
            "a/x/keep",
            "b",
            "b/c",
            "bb/c",
            "b/keep",
            "x",
            "x/keep",
            "a/b.go",
            "z/main.go",
            "a/b/c/main.go",
            "q/k1",
        ];
        for text in rule_sets {
            let rules = ig(text);
            for dir in paths {
                if !rules.is_excluded(dir) || rules.dir_may_contain_included(dir) {
                    continue;
                }
                for path in paths {
                    if path.starts_with(&format!("{dir}/")) {
                        assert!(
                            rules.is_excluded(path),
                            "rules {text:?}: skipped {dir:?} but {path:?} is included"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn walk_matching_equals_stateless_matching() {
        let rules = ig("a/*\n!a\nb\n!b/c/**\n*.tmp\n");
        for path in [
            "a", "a/f", "a/f/g", "b", "b/c", "b/c/d", "b/x.tmp", "x.tmp", "c/d",
        ] {
            let mut info = MatchInfo::default();
            let mut result = false;
            let parts: Vec<&str> = path.split('/').collect();
            for n in 1..=parts.len() {
                let prefix = parts[..n].join("/");
                let (r, i) = rules.matches_with_parent(&prefix, &info);
                result = r;
                info = i;
            }
            assert_eq!(result, rules.is_excluded(path), "{path}");
        }
    }

    #[test]
    fn path_normalisation_and_root() {
        let rules = ig("foo\n");
        assert!(rules.is_excluded("./foo"));
        assert!(rules.is_excluded("/foo/"));
        assert!(rules.is_excluded("foo//bar"));
        assert!(!rules.is_excluded("."));
        assert!(!rules.is_excluded(""));
        assert!(!ig("**").is_excluded("."));
        assert!(DockerIgnore::default().is_empty());
        assert!(!DockerIgnore::default().is_excluded("x"));
    }

    #[test]
    fn clean_matches_go() {
        for (input, want) in [
            ("", "."),
            (".", "."),
            ("/", "/"),
            ("a/b/../c", "a/c"),
            ("a/..", "."),
            ("../..", "../.."),
            ("/../a", "/a"),
            ("a//b///", "a/b"),
            ("./a/./b/.", "a/b"),
        ] {
            assert_eq!(clean(input), want, "{input:?}");
        }
    }

    #[test]
    fn from_patterns_works_like_lines() {
        let rules = DockerIgnore::from_patterns(["*.md", "", "# c", "!README.md"]);
        let rules = match rules {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(rules.len(), 2);
        assert!(rules.has_exceptions());
        assert!(!rules.is_excluded("README.md"));
    }
}
