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

/// The strings to mask for some secret values: each value; its standard base64 (the form a
/// docker config `auth` entry or a `b64enc` volume entry holds); its escaped forms in JSON and
/// in quoted debug text when they differ (quotes, backslashes, control characters), and
/// single-quoted for a shell (`'\''` for each quote, also JSON-escaped); and, for a
/// value of several lines, each of its lines of at least 4 characters (output is masked line
/// by line). Empty values give nothing.
pub fn secret_forms<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    use base64::Engine as _;
    let mut forms: Vec<String> = Vec::new();
    let mut add = |s: &str| {
        if !s.is_empty() && !forms.iter().any(|f| f == s) {
            forms.push(s.to_owned());
        }
    };
    for value in values {
        if value.is_empty() {
            continue;
        }
        add(value);
        add(&base64::engine::general_purpose::STANDARD.encode(value));
        // Escaped as in JSON (`toJson`, json output) and in quoted debug text (`--dry-run`);
        // single-quoted for a shell (an `env` entry written for acb's shell line), also as JSON.
        let json_inner = |v: &str| {
            let json = serde_json::to_string(v).unwrap_or_default();
            json.get(1..json.len().saturating_sub(1))
                .unwrap_or_default()
                .to_owned()
        };
        add(&json_inner(value));
        if value.contains('\'') {
            let quoted = value.replace('\'', r"'\''");
            add(&quoted);
            add(&json_inner(&quoted));
        }
        let debug = format!("{value:?}");
        add(debug
            .get(1..debug.len().saturating_sub(1))
            .unwrap_or_default());
        if value.contains('\n') {
            for line in value.lines().map(str::trim) {
                if line.chars().count() >= 4 {
                    add(line);
                }
            }
        }
    }
    forms
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

    #[test]
    fn secret_forms_add_base64_and_lines() {
        let forms = secret_forms(["s3cr3t", "", "-----BEGIN KEY-----\r\nabcdef\n}\n", "s3cr3t"]);
        assert_eq!(
            forms,
            [
                "s3cr3t",
                "czNjcjN0",
                "-----BEGIN KEY-----\r\nabcdef\n}\n",
                "LS0tLS1CRUdJTiBLRVktLS0tLQ0KYWJjZGVmCn0K",
                "-----BEGIN KEY-----\\r\\nabcdef\\n}\\n",
                "-----BEGIN KEY-----",
                "abcdef",
            ]
        );
        assert_eq!(mask("key: czNjcjN0.", &forms), "key: ***.");
        let forms = secret_forms(["q\"u'o\\te\u{1} ✓"]);
        assert!(
            forms.contains(&"q\\\"u'o\\\\te\\u0001 ✓".to_owned()),
            "{forms:?}"
        );
        assert!(
            forms.contains(&"q\\\"u'o\\\\te\\u{1} ✓".to_owned()),
            "{forms:?}"
        );
    }

    #[test]
    fn masks_longest_first() {
        let m = vec!["abc".to_owned(), "abcdef".to_owned(), String::new()];
        assert_eq!(mask("x abcdef abc y", &m), "x *** *** y");
    }
}
