//! Source texts: the task file as read, and the text after aliases and templates.
//!
//! Every diagnostic borrows its snippet from a [`Source`], so the text is shared (`Arc<str>`).

use std::sync::Arc;

use miette::NamedSource;

/// A named text that diagnostics can point into.
#[derive(Debug, Clone)]
pub struct Source {
    /// The name shown in diagnostics, usually the file path as given by the user.
    pub name: String,
    /// The full text.
    pub text: Arc<str>,
    named: NamedSource<Arc<str>>,
}

impl Source {
    /// A source named `name` holding `text`.
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        let name = name.into();
        let text = text.into();
        let named = NamedSource::new(name.clone(), Arc::clone(&text)).with_language("yaml");
        Self { name, text, named }
    }

    /// The miette view of this source, for diagnostics.
    pub fn named(&self) -> &NamedSource<Arc<str>> {
        &self.named
    }

    /// The 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let col = before[line_start..].chars().count() + 1;
        (line, col)
    }

    /// The byte offset of a 1-based line and column (in characters); clamped to the text.
    pub fn offset_of(&self, line: usize, col: usize) -> usize {
        let mut start = 0;
        for _ in 1..line.max(1) {
            match self.text[start..].find('\n') {
                Some(i) => start += i + 1,
                None => return self.text.len(),
            }
        }
        let rest = &self.text[start..];
        let line_end = rest.find('\n').unwrap_or(rest.len());
        let within = rest[..line_end]
            .char_indices()
            .nth(col.saturating_sub(1))
            .map_or(line_end, |(i, _)| i);
        start + within
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_round_trip() {
        let s = Source::new("t", "ab\nçd\n\nx");
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(3), (2, 1));
        assert_eq!(s.line_col(5), (2, 2));
        assert_eq!(s.offset_of(2, 2), 5);
        assert_eq!(s.offset_of(4, 1), 8);
        assert_eq!(s.offset_of(9, 1), s.text.len());
    }
}
