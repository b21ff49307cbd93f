//! The pflag-style option parser shared by the `cmd` and `build` parsers: `--flag value`,
//! `--flag=value`, `-f value`, `-fvalue`, `-f=value`, combined short booleans (`-it`), `--`
//! ending the options, Go `strconv.ParseBool` values for booleans.

use std::ops::Range;

use super::lexer::Word;
use crate::diag::suggest::closest;

/// Whether a flag takes a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// Boolean: `--rm`, `--rm=false`, `-d`, `-d=false`; never consumes the next word.
    Bool,
    /// Takes a value: `--name x`, `--name=x`, `-e X`, `-eX`, `-e=X`.
    Value,
    /// Takes a value only in the attached form (`--sbom=false`); bare `--sbom` has none.
    OptionalValue,
}

/// One recognised command-line flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlagSpec {
    /// Long name without dashes, as it may be written (`net`).
    pub long: &'static str,
    /// Canonical long name without dashes (`network` for `net`).
    pub canonical: &'static str,
    /// One-letter shorthand, if any.
    pub short: Option<char>,
    /// Whether and how it takes a value.
    pub kind: FlagKind,
}

impl FlagSpec {
    /// A boolean flag.
    pub const fn bool(long: &'static str) -> Self {
        FlagSpec {
            long,
            canonical: long,
            short: None,
            kind: FlagKind::Bool,
        }
    }

    /// A flag that takes a value.
    pub const fn value(long: &'static str) -> Self {
        FlagSpec {
            long,
            canonical: long,
            short: None,
            kind: FlagKind::Value,
        }
    }

    /// A flag whose value is optional (only in `--flag=value` form).
    pub const fn optional(long: &'static str) -> Self {
        FlagSpec {
            long,
            canonical: long,
            short: None,
            kind: FlagKind::OptionalValue,
        }
    }

    /// With a one-letter shorthand.
    pub const fn short(mut self, c: char) -> Self {
        self.short = Some(c);
        self
    }

    /// As an alias of another long name.
    pub const fn alias_of(mut self, canonical: &'static str) -> Self {
        self.canonical = canonical;
        self
    }
}

/// One flag found on the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagUse<'t> {
    /// The matching spec.
    pub spec: &'t FlagSpec,
    /// The flag as written (`-e`, `--env`, `-t` inside `-it`).
    pub written: String,
    /// The value: always set for [`FlagKind::Value`]; for [`FlagKind::Bool`] the already
    /// validated `=value` text if one was attached; for [`FlagKind::OptionalValue`] the attached
    /// value if any.
    pub value: Option<String>,
    /// Byte range of the flag, including a separate value word.
    pub span: Range<usize>,
}

impl FlagUse<'_> {
    /// For boolean flags: the value (`true` unless `=false`-like was attached).
    pub fn enabled(&self) -> bool {
        self.value
            .as_deref()
            .is_none_or(|v| parse_bool(v) == Some(true))
    }
}

/// Parse a Go `strconv.ParseBool` value.
pub fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// One element of a parsed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagItem<'t> {
    /// A flag with its value.
    Flag(FlagUse<'t>),
    /// A positional word (index into the words).
    Positional(usize),
}

/// What is wrong with a flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlagErrorKind {
    /// `--foo`: not a known long flag. `suggestion` is a close known flag (`--name`), if any.
    UnknownFlag {
        /// The flag as written (`--foo`).
        flag: String,
        /// A known flag it may be a typo of, with dashes (`--no-cache`).
        suggestion: Option<String>,
    },
    /// `-x` inside a shorthand group (`-itx`): not a known shorthand.
    UnknownShorthand {
        /// The unknown letter.
        letter: char,
        /// The whole word (`-itx`).
        word: String,
        /// A known long flag if the word looks like one written with one dash (`-rm` → `--rm`).
        suggestion: Option<String>,
    },
    /// A value flag at the end of the line.
    MissingValue {
        /// The flag as written.
        flag: String,
    },
    /// A boolean flag with a value that is not a boolean (`--rm=maybe`).
    InvalidBool {
        /// The flag as written.
        flag: String,
        /// The value given.
        value: String,
    },
}

/// An error found while parsing flags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagError {
    /// What is wrong.
    pub kind: FlagErrorKind,
    /// Byte range of the offending word.
    pub span: Range<usize>,
}

impl FlagError {
    /// One-line description.
    pub fn message(&self) -> String {
        match &self.kind {
            FlagErrorKind::UnknownFlag { flag, .. } => format!("unknown flag `{flag}`"),
            FlagErrorKind::UnknownShorthand { letter, word, .. } => {
                format!("unknown shorthand flag `-{letter}` in `{word}`")
            }
            FlagErrorKind::MissingValue { flag } => format!("flag `{flag}` needs a value"),
            FlagErrorKind::InvalidBool { flag, value } => {
                format!("flag `{flag}` takes `true` or `false`, not `{value}`")
            }
        }
    }

    /// A did-you-mean or fix, when there is one.
    pub fn help(&self) -> Option<String> {
        match &self.kind {
            FlagErrorKind::UnknownFlag { suggestion, .. }
            | FlagErrorKind::UnknownShorthand { suggestion, .. } => {
                suggestion.as_ref().map(|s| format!("did you mean `{s}`?"))
            }
            FlagErrorKind::MissingValue { flag } => Some(format!(
                "write the value after it: `{flag} value` or `{flag}=value`"
            )),
            FlagErrorKind::InvalidBool { flag, .. } => Some(format!(
                "write `{flag}` alone, or `{flag}=false` to turn it off"
            )),
        }
    }
}

/// Result of [`parse_flags`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FlagParse<'t> {
    /// Flags and positionals in order.
    pub items: Vec<FlagItem<'t>>,
    /// Problems, in order; the offending words are skipped.
    pub errors: Vec<FlagError>,
    /// When not interspersed: index of the first word after the options (the first positional, or
    /// the word after `--`); `words.len()` if none. When interspersed: `words.len()`.
    pub rest: usize,
}

/// Parse `words` as pflag does. With `interspersed`, flags and positionals may mix (`docker
/// build`); without, options stop at the first positional (`docker run`: the image). Parsing
/// continues after errors so that every problem is reported.
pub fn parse_flags<'t>(words: &[Word], specs: &'t [FlagSpec], interspersed: bool) -> FlagParse<'t> {
    let mut out = FlagParse {
        items: Vec::new(),
        errors: Vec::new(),
        rest: words.len(),
    };
    let mut k = 0;
    while let Some(word) = words.get(k) {
        let text = word.text.as_str();
        if text == "--" {
            if interspersed {
                out.items
                    .extend((k + 1..words.len()).map(FlagItem::Positional));
            } else {
                out.rest = k + 1;
            }
            return out;
        }
        if let Some(body) = text.strip_prefix("--") {
            k = long_flag(words, k, body, specs, &mut out);
        } else if text.len() > 1 && text.starts_with('-') {
            k = short_flags(words, k, specs, &mut out);
        } else if interspersed {
            out.items.push(FlagItem::Positional(k));
            k += 1;
        } else {
            out.rest = k;
            return out;
        }
    }
    out
}

/// `--name[=value]` at `words[k]`; returns the index of the next word to look at.
fn long_flag<'t>(
    words: &[Word],
    k: usize,
    body: &str,
    specs: &'t [FlagSpec],
    out: &mut FlagParse<'t>,
) -> usize {
    let Some(word) = words.get(k) else {
        return k + 1;
    };
    let (name, attached) = match body.split_once('=') {
        Some((n, v)) => (n, Some(v)),
        None => (body, None),
    };
    let written = format!("--{name}");
    let Some(spec) = specs.iter().find(|s| s.long == name) else {
        out.errors.push(FlagError {
            kind: FlagErrorKind::UnknownFlag {
                suggestion: closest(name, specs.iter().map(|s| s.long)).map(|s| format!("--{s}")),
                flag: written,
            },
            span: word.span.clone(),
        });
        return k + 1;
    };
    take_value(words, k, spec, written, attached, word.span.clone(), out)
}

/// Record `spec` with an attached value or the next word; returns the next index.
fn take_value<'t>(
    words: &[Word],
    k: usize,
    spec: &'t FlagSpec,
    written: String,
    attached: Option<&str>,
    span: Range<usize>,
    out: &mut FlagParse<'t>,
) -> usize {
    match (spec.kind, attached) {
        (FlagKind::Bool, Some(v)) => {
            if parse_bool(v).is_none() {
                out.errors.push(FlagError {
                    kind: FlagErrorKind::InvalidBool {
                        flag: written,
                        value: v.to_string(),
                    },
                    span,
                });
            } else {
                out.items.push(FlagItem::Flag(FlagUse {
                    spec,
                    written,
                    value: Some(v.to_string()),
                    span,
                }));
            }
            k + 1
        }
        (FlagKind::Bool | FlagKind::OptionalValue, None) => {
            out.items.push(FlagItem::Flag(FlagUse {
                spec,
                written,
                value: None,
                span,
            }));
            k + 1
        }
        (FlagKind::Value | FlagKind::OptionalValue, Some(v)) => {
            out.items.push(FlagItem::Flag(FlagUse {
                spec,
                written,
                value: Some(v.to_string()),
                span,
            }));
            k + 1
        }
        (FlagKind::Value, None) => match words.get(k + 1) {
            Some(next) => {
                out.items.push(FlagItem::Flag(FlagUse {
                    spec,
                    written,
                    value: Some(next.text.clone()),
                    span: span.start..next.span.end,
                }));
                k + 2
            }
            None => {
                out.errors.push(FlagError {
                    kind: FlagErrorKind::MissingValue { flag: written },
                    span,
                });
                k + 1
            }
        },
    }
}

/// `-abc`, `-e X`, `-eX`, `-e=X` at `words[k]`; returns the next index.
fn short_flags<'t>(
    words: &[Word],
    k: usize,
    specs: &'t [FlagSpec],
    out: &mut FlagParse<'t>,
) -> usize {
    let Some(word) = words.get(k) else {
        return k + 1;
    };
    let letters = word.text.get(1..).unwrap_or_default();
    for (pos, c) in letters.char_indices() {
        let written = format!("-{c}");
        let Some(spec) = specs.iter().find(|s| s.short == Some(c)) else {
            let long = letters.split('=').next().unwrap_or_default();
            let suggestion = specs
                .iter()
                .find(|s| s.long == long && long.len() > 1)
                .map(|s| format!("--{}", s.long));
            out.errors.push(FlagError {
                kind: FlagErrorKind::UnknownShorthand {
                    letter: c,
                    word: word.text.clone(),
                    suggestion,
                },
                span: word.span.clone(),
            });
            return k + 1;
        };
        let after = letters.get(pos + c.len_utf8()..).unwrap_or_default();
        if let Some(v) = after.strip_prefix('=') {
            return take_value(words, k, spec, written, Some(v), word.span.clone(), out);
        }
        match spec.kind {
            FlagKind::Bool | FlagKind::OptionalValue => {
                out.items.push(FlagItem::Flag(FlagUse {
                    spec,
                    written,
                    value: None,
                    span: word.span.clone(),
                }));
            }
            FlagKind::Value => {
                let attached = (!after.is_empty()).then_some(after);
                return take_value(words, k, spec, written, attached, word.span.clone(), out);
            }
        }
    }
    k + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(text: &str) -> Word {
        Word {
            text: text.to_string(),
            span: 0..0,
            quoted: false,
        }
    }

    const SPECS: &[FlagSpec] = &[
        FlagSpec::value("env").short('e'),
        FlagSpec::bool("tty").short('t'),
        FlagSpec::bool("interactive").short('i'),
        FlagSpec::value("network"),
        FlagSpec::value("net").alias_of("network"),
        FlagSpec::optional("sbom"),
    ];

    fn flags(ws: &[&str], interspersed: bool) -> FlagParse<'static> {
        let words: Vec<Word> = ws.iter().map(|t| w(t)).collect();
        parse_flags(&words, SPECS, interspersed)
    }

    fn flag_values(p: &FlagParse<'_>) -> Vec<(String, Option<String>)> {
        p.items
            .iter()
            .filter_map(|i| match i {
                FlagItem::Flag(f) => Some((f.spec.canonical.to_string(), f.value.clone())),
                FlagItem::Positional(_) => None,
            })
            .collect()
    }

    fn some(s: &str) -> Option<String> {
        Some(s.to_string())
    }

    #[test]
    fn flag_forms() {
        let p = flags(
            &[
                "-e",
                "A",
                "-eB",
                "-e=C",
                "--env",
                "D",
                "--env=E=1",
                "--net=n",
                "-it",
                "img",
                "-x",
            ],
            false,
        );
        assert!(p.errors.is_empty());
        assert_eq!(p.rest, 9);
        assert_eq!(
            flag_values(&p),
            [
                ("env".to_string(), some("A")),
                ("env".to_string(), some("B")),
                ("env".to_string(), some("C")),
                ("env".to_string(), some("D")),
                ("env".to_string(), some("E=1")),
                ("network".to_string(), some("n")),
                ("interactive".to_string(), None),
                ("tty".to_string(), None),
            ]
        );
    }

    #[test]
    fn interspersed_positionals() {
        let p = flags(&["a", "-t", "b", "--", "-c"], true);
        assert!(p.errors.is_empty());
        let pos: Vec<usize> = p
            .items
            .iter()
            .filter_map(|i| match i {
                FlagItem::Positional(k) => Some(*k),
                FlagItem::Flag(_) => None,
            })
            .collect();
        assert_eq!(pos, [0, 2, 4]);
    }

    #[test]
    fn optional_value_flags() {
        let p = flags(&["--sbom", "x", "--sbom=false"], true);
        assert_eq!(
            flag_values(&p),
            [
                ("sbom".to_string(), None),
                ("sbom".to_string(), some("false"))
            ]
        );
    }

    #[test]
    fn flag_errors() {
        let p = flags(&["--nett", "x", "-ix", "--tty=yes", "-e"], true);
        let kinds: Vec<_> = p.errors.iter().map(|e| e.kind.clone()).collect();
        assert_eq!(
            kinds,
            [
                FlagErrorKind::UnknownFlag {
                    flag: "--nett".to_string(),
                    suggestion: some("--net"),
                },
                FlagErrorKind::UnknownShorthand {
                    letter: 'x',
                    word: "-ix".to_string(),
                    suggestion: None,
                },
                FlagErrorKind::InvalidBool {
                    flag: "--tty".to_string(),
                    value: "yes".to_string(),
                },
                FlagErrorKind::MissingValue {
                    flag: "-e".to_string(),
                },
            ]
        );
        for e in &p.errors {
            assert!(!e.message().is_empty());
        }
    }

    #[test]
    fn bools() {
        for v in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool(v), Some(true));
        }
        for v in ["0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_bool(v), Some(false));
        }
        assert_eq!(parse_bool("yes"), None);
        let p = flags(&["-t=false", "-i"], true);
        let enabled: Vec<bool> = p
            .items
            .iter()
            .filter_map(|i| match i {
                FlagItem::Flag(f) => Some(f.enabled()),
                FlagItem::Positional(_) => None,
            })
            .collect();
        assert_eq!(enabled, [false, true]);
    }
}
