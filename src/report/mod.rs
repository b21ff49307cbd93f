//! The only module that writes to the terminal: diagnostics, command output and status lines.
//!
//! Data (rendered text, graphs, schemas) goes to stdout; diagnostics and status go to stderr.

pub mod run;

use std::io::{IsTerminal, Write};

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::cli::ColorChoice;
use crate::diag::{Problem, Problems};

/// Where and how output is written.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    color: bool,
}

impl Printer {
    /// A printer honouring `--color`, `NO_COLOR` and whether stderr is a terminal.
    pub fn new(choice: ColorChoice) -> Self {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stderr().is_terminal()
            }
        };
        Self { color }
    }

    /// Whether colour is on.
    pub fn color(&self) -> bool {
        self.color
    }

    /// Writes data to stdout as is.
    pub fn data(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        // A closed pipe (`taskrun render | head`) is not an error worth reporting.
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Writes one status line to stderr.
    pub fn status(&self, line: &str) {
        let _ = writeln!(std::io::stderr().lock(), "{line}");
    }

    /// Writes every problem to stderr, then a one-line count when there are errors.
    pub fn problems(&self, problems: &Problems, masked: &[String]) {
        let mut err = std::io::stderr().lock();
        for p in problems.iter() {
            let _ = write!(err, "{}", mask(&render_problem(p, self.color), masked));
        }
        let errors = problems.iter().filter(|p| p.is_error()).count();
        let warnings = problems.iter().count() - errors;
        if errors > 0 {
            let _ = writeln!(
                err,
                "error: {errors} problem{} found{}",
                plural(errors),
                if warnings > 0 {
                    format!(" ({warnings} warning{})", plural(warnings))
                } else {
                    String::new()
                }
            );
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Replaces every masked value by `***`.
pub fn mask(text: &str, masked: &[String]) -> String {
    let mut out = text.to_owned();
    let mut sorted: Vec<&String> = masked.iter().filter(|m| !m.is_empty()).collect();
    // Longest first, so a secret containing another is masked whole.
    sorted.sort_by_key(|m| std::cmp::Reverse(m.len()));
    for m in sorted {
        if out.contains(m.as_str()) {
            out = out.replace(m.as_str(), "***");
        }
    }
    out
}

/// One problem rendered as miette's graphical report (code, message, snippet with labels at
/// file:line:column, help), without colour when `color` is false.
pub fn render_problem(p: &Problem, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    if handler.render_report(&mut out, p).is_err() {
        out = format!("{}: {}\n", p.code, p.message);
    }
    if let Some((name, line, col)) = p.location()
        && !out.contains(&format!("{name}:{line}:{col}"))
    {
        out.push_str(&format!("  at {name}:{line}:{col}\n"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_longest_first() {
        let m = vec!["abc".to_owned(), "abcdef".to_owned(), String::new()];
        assert_eq!(mask("x abcdef abc y", &m), "x *** *** y");
    }
}
