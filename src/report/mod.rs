//! The only module that writes to the terminal: diagnostics, command output and status lines.
//!
//! Data (rendered text, graphs, schemas) goes to stdout; diagnostics and status go to stderr.

pub mod run;
pub mod tasks;

pub use crate::secrets::{mask, secret_forms};

use std::io::{IsTerminal, Write};

use miette::{GraphicalReportHandler, GraphicalTheme};

use crate::diag::{Problem, Problems};

/// When to colour output (`--color`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

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

    /// Writes the problems of a check that failed, then its note (for example that positions
    /// refer to the rendered text).
    pub fn failed(&self, problems: &Problems, masked: &[String], note: Option<&str>) {
        self.problems(problems, masked);
        if let Some(note) = note {
            self.status(note);
        }
    }

    /// Writes every problem to stderr, then a one-line count when there are errors.
    pub fn problems(&self, problems: &Problems, masked: &[String]) {
        let mut err = std::io::stderr().lock();
        let github = std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true");
        for p in problems.iter() {
            let _ = write!(err, "{}", mask(&render_problem(p, self.color), masked));
            if github {
                // A GitHub Actions annotation on the file and line (workflow commands go to
                // stdout or stderr alike).
                let _ = writeln!(err, "{}", mask(&github_annotation(p), masked));
            }
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

impl Printer {
    /// `--output json`: every problem as one JSON event on stdout (`{"event":"diagnostic",
    /// "code", "severity", "message", "help", "file", "line", "column"}`), then, when there are
    /// errors, `{"event":"run_refused","errors":N,"warnings":M}`. Masked like everything else.
    pub fn problem_events(&self, problems: &Problems, masked: &[String]) {
        let mut out = String::new();
        for p in problems.iter() {
            let mut event = serde_json::json!({
                "event": "diagnostic",
                "code": p.code.as_str(),
                "severity": if p.is_error() { "error" } else { "warning" },
                "message": p.message,
                "help": p.help,
            });
            if let Some((file, line, column)) = p.location() {
                event["file"] = file.into();
                event["line"] = line.into();
                event["column"] = column.into();
            }
            out.push_str(&mask(&event.to_string(), &json_masks(masked)));
            out.push('\n');
        }
        let errors = problems.iter().filter(|p| p.is_error()).count();
        if errors > 0 {
            let warnings = problems.iter().count() - errors;
            out.push_str(
                &serde_json::json!({"event": "run_refused", "errors": errors, "warnings": warnings})
                    .to_string(),
            );
            out.push('\n');
        }
        self.data(&out);
    }
}

/// The masked values as they appear inside JSON strings (escaped), besides as written.
fn json_masks(masked: &[String]) -> Vec<String> {
    let mut all: Vec<String> = masked.to_vec();
    for m in masked {
        let json = serde_json::to_string(m).unwrap_or_default();
        if let Some(inner) = json.get(1..json.len().saturating_sub(1))
            && inner != m
        {
            all.push(inner.to_owned());
        }
    }
    all.sort_by_key(|m| std::cmp::Reverse(m.len()));
    all
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// The GitHub Actions workflow command for a problem:
/// `::error file=F,line=L,col=C,title=CODE::MESSAGE` (or `::warning`).
pub fn github_annotation(p: &Problem) -> String {
    let kind = if p.is_error() { "error" } else { "warning" };
    let escape = |s: &str| {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    };
    let prop = |s: &str| escape(s).replace(':', "%3A").replace(',', "%2C");
    let mut props = Vec::new();
    if let Some((file, line, col)) = p.location() {
        let file = file
            .trim_end_matches(" (rendered)")
            .trim_end_matches(" (after aliases)");
        props.push(format!("file={}", prop(file)));
        props.push(format!("line={line}"));
        props.push(format!("col={col}"));
    }
    props.push(format!("title={}", prop(p.code.as_str())));
    format!("::{kind} {}::{}", props.join(","), escape(&p.message))
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
    fn github_annotations_carry_file_line_and_code() {
        let src = crate::source::Source::new("acr-task.yaml (rendered)", "steps:\n  - cmd: x\n");
        let p = Problem::error(crate::diag::Code::WhenUnknown, "bad, really: 100%")
            .in_source(&src)
            .with_label(9..12, "here");
        assert_eq!(
            github_annotation(&p),
            "::error file=acr-task.yaml,line=2,col=3,title=taskrun%3A%3Avalidate%3A%3Awhen_unknown::bad, really: 100%25"
        );
    }
}
