//! [`SpanError`]: the error type of the small parsers (`cmd` lines, `build` strings, Dockerfile
//! scans), before a stage turns it into a [`super::Problem`].

use std::fmt;
use std::ops::Range;

/// A problem of kind `K` at a byte range of the parsed string: `model::cmdline::CmdError`,
/// `model::buildargs::BuildArgError` and `deps::ScanError` are this type with their own kinds.
/// It displays as its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanError<K> {
    /// What kind of problem.
    pub kind: K,
    /// One sentence naming the offending text.
    pub message: String,
    /// Byte range in the parsed string (`0..0` for problems that have no place in it).
    pub span: Range<usize>,
    /// How to fix it, when there is something to say.
    pub help: Option<String>,
}

impl<K> fmt::Display for SpanError<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<K: fmt::Debug> std::error::Error for SpanError<K> {}
