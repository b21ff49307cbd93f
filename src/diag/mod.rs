//! Diagnostics shared by every stage: a [`Problem`] with a stable [`Code`], a severity, labelled
//! spans into a `Source`, and a help line.
//!
//! Stages never stop at the first problem: they push into a [`Problems`] list and the report layer
//! prints them all. Codes are part of the contract (documented in `docs/errors.md`, one snapshot
//! test each), so variants are only ever added, never renamed.

mod code;
mod span_error;
pub(crate) mod suggest;

use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, SourceCode};

pub use code::Code;
pub use span_error::SpanError;

use crate::source::Source;

/// How bad a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Reported, never fails the command (unless `--strict` promotes it).
    Warning,
    /// Fails the command with exit code 2.
    Error,
}

/// A labelled byte range in the problem's source.
#[derive(Debug, Clone)]
pub struct Label {
    /// Byte range in [`Problem::source`]'s text.
    pub span: Range<usize>,
    /// Text shown under the span (may be empty).
    pub text: String,
}

/// One problem found in the input.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// One sentence saying what is wrong.
    pub message: String,
    /// What to do about it.
    pub help: Option<String>,
    /// Where (the first label is the primary position).
    pub labels: Vec<Label>,
    /// The text the labels point into (shared, so problems stay small).
    pub source: Option<Arc<Source>>,
    /// A warning of `validate` about something ACR runs but `taskrun run` does not carry out:
    /// `run` reports the same problem as an error (see [`Problems::refuse_for_run`]) instead
    /// of a second report of its own.
    pub refused_by_run: bool,
}

impl Problem {
    /// An error with `code` and `message`, without position yet.
    pub fn error(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: Severity::Error,
            message: message.into(),
            help: None,
            labels: Vec::new(),
            source: None,
            refused_by_run: false,
        }
    }

    /// Marks a warning as one that `taskrun run` refuses (an error there).
    #[must_use]
    pub fn refused_by_run(mut self) -> Self {
        self.refused_by_run = true;
        self
    }

    /// A warning with `code` and `message`, without position yet.
    pub fn warning(code: Code, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, message)
        }
    }

    /// Sets the help line.
    #[must_use]
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Sets the source the labels point into.
    #[must_use]
    pub fn in_source(mut self, source: &Source) -> Self {
        self.source = Some(Arc::new(source.clone()));
        self
    }

    /// Adds a labelled span (the first one added is the primary position).
    #[must_use]
    pub fn with_label(mut self, span: Range<usize>, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            text: text.into(),
        });
        self
    }

    /// Whether this problem fails the command.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `name:line:column` of the primary label, when there is one.
    pub fn location(&self) -> Option<(String, usize, usize)> {
        let source = self.source.as_ref()?;
        let label = self.labels.first()?;
        let (line, col) = source.line_col(label.span.start);
        Some((source.name.clone(), line, col))
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code.as_str()))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Warning => miette::Severity::Warning,
            Severity::Error => miette::Severity::Error,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_deref().map(|s| s.named() as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let len = self.source.as_ref()?.text.len();
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().enumerate().map(
            move |(i, l)| {
                let start = l.span.start.min(len);
                let end = l.span.end.clamp(start, len);
                let text = (!l.text.is_empty()).then(|| l.text.clone());
                if i == 0 {
                    LabeledSpan::new_primary_with_span(text, start..end)
                } else {
                    LabeledSpan::new_with_span(text, start..end)
                }
            },
        )))
    }
}

/// Problems collected by a stage, in the order found.
#[derive(Debug, Default, Clone)]
pub struct Problems {
    items: Vec<Problem>,
}

impl Problems {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one problem.
    pub fn push(&mut self, problem: Problem) {
        self.items.push(problem);
    }

    /// Adds every problem of `other`.
    pub fn extend(&mut self, other: impl IntoIterator<Item = Problem>) {
        self.items.extend(other);
    }

    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Problem::is_error)
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The problems, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, Problem> {
        self.items.iter()
    }

    /// Turns every warning into an error (`--strict`) where the code allows it.
    pub fn promote_warnings(&mut self) {
        for p in &mut self.items {
            if p.code.strict_makes_error() {
                p.severity = Severity::Error;
            }
        }
    }

    /// For `run`: every warning that `run` refuses becomes an error (printed once, with its
    /// position).
    pub fn refuse_for_run(&mut self) {
        self.map_in_place(|p| {
            if p.refused_by_run {
                p.severity = Severity::Error;
            }
        });
    }

    /// Changes problems in place (for example to turn some errors into warnings).
    pub fn map_in_place(&mut self, f: impl FnMut(&mut Problem)) {
        self.items.iter_mut().for_each(f);
    }

    /// Consumes the list.
    pub fn into_vec(self) -> Vec<Problem> {
        self.items
    }
}

impl IntoIterator for Problems {
    type Item = Problem;
    type IntoIter = std::vec::IntoIter<Problem>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

impl From<Problem> for Problems {
    fn from(p: Problem) -> Self {
        Self { items: vec![p] }
    }
}
