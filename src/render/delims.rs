//! Template delimiters: Go's `{{ }}` (ACR) or taskrun's `<< >>` extension.
//!
//! In a `<< >>` file, `{{ }}` is literal text (handy for `docker inspect --format '{{.Id}}'`,
//! Helm or GitHub expressions), and YAML merge keys (`<<: *anchor`) keep working because `<<`
//! only opens an action when a template expression follows it on the same line and `>>` closes it.
//! Detection is automatic unless `--delims` forces a choice.

use std::fmt;
use std::ops::Range;

/// Which delimiters a file is rendered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Delims {
    /// Go's `{{ }}`, as ACR.
    #[default]
    #[value(name = "braces", alias = "{{}}")]
    Braces,
    /// taskrun's `<< >>`.
    #[value(name = "angles", alias = "<<>>")]
    Angles,
}

impl Delims {
    /// The left and right delimiter strings.
    pub fn pair(self) -> (&'static str, &'static str) {
        match self {
            Delims::Braces => ("{{", "}}"),
            Delims::Angles => ("<<", ">>"),
        }
    }
}

impl fmt::Display for Delims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (l, r) = self.pair();
        write!(f, "{l} {r}")
    }
}

/// Template actions found in a text, by delimiter kind (byte ranges of each whole action).
#[derive(Debug, Default)]
pub struct Actions {
    /// `{{ … }}` actions.
    pub braces: Vec<Range<usize>>,
    /// `<< … >>` actions.
    pub angles: Vec<Range<usize>>,
}

/// Go template keywords that may start an action.
const KEYWORDS: &[&str] = &[
    "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue",
    "nil", "true", "false",
];

/// Finds the template actions of both kinds in `text`, skipping lines flagged in `comment_mask`.
/// `functions` are the names that may start an action (built-ins and Sprig).
pub fn find_actions(text: &str, comment_mask: &[bool], functions: &[&str]) -> Actions {
    let mut actions = Actions::default();
    let mut offset = 0;
    for (i, line) in text.split('\n').enumerate() {
        if !comment_mask.get(i).copied().unwrap_or(false) {
            scan_line(line, offset, "{{", "}}", functions, &mut actions.braces);
            scan_line(line, offset, "<<", ">>", functions, &mut actions.angles);
        }
        offset += line.len() + 1;
    }
    actions
}

fn scan_line(
    line: &str,
    base: usize,
    left: &str,
    right: &str,
    functions: &[&str],
    out: &mut Vec<Range<usize>>,
) {
    let mut from = 0;
    while let Some(rel) = line[from..].find(left) {
        let start = from + rel;
        let inner_start = start + left.len();
        let Some(end_rel) = line[inner_start..].find(right) else {
            return;
        };
        let inner = &line[inner_start..inner_start + end_rel];
        let end = inner_start + end_rel + right.len();
        if looks_like_action(inner, functions) {
            out.push(base + start..base + end);
            from = end;
        } else {
            from = inner_start;
        }
    }
}

/// Whether the text between delimiters looks like a Go template action.
fn looks_like_action(inner: &str, functions: &[&str]) -> bool {
    let body = inner.strip_prefix('-').unwrap_or(inner);
    if inner.starts_with('-') && !body.starts_with([' ', '\t']) && !body.is_empty() {
        // `<<-EOF` is a shell heredoc, `{{-x}}` is not a trim marker either.
        return false;
    }
    let body = body.trim_start();
    if body.starts_with(':') || body.is_empty() {
        return false;
    }
    if body.starts_with("/*") || body.starts_with(['.', '$', '"', '(', '`']) {
        return true;
    }
    let word: String = body
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    !word.is_empty() && (KEYWORDS.contains(&word.as_str()) || functions.contains(&word.as_str()))
}

/// In a `<< >>` file, every `<<` that does not open a template action (a YAML merge key
/// `<<: *base`, a shell heredoc `<<EOF`) is rewritten as the action `<<"<<">>`, which prints
/// it, so the template engine copies it unchanged. Lines flagged in `comment_mask` are left
/// alone (they are already protected).
pub fn escape_literal_angles(text: &str, comment_mask: &[bool], functions: &[&str]) -> String {
    if !text.contains("<<") {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if comment_mask.get(i).copied().unwrap_or(false) || !line.contains("<<") {
            out.push_str(line);
            continue;
        }
        let mut actions = Vec::new();
        scan_line(line, 0, "<<", ">>", functions, &mut actions);
        let mut pos = 0;
        while let Some(rel) = line[pos..].find("<<") {
            let at = pos + rel;
            out.push_str(&line[pos..at]);
            if let Some(action) = actions.iter().find(|r| r.start == at) {
                out.push_str(&line[action.clone()]);
                pos = action.end;
            } else {
                out.push_str(r#"<<"<<">>"#);
                pos = at + 2;
            }
        }
        out.push_str(&line[pos..]);
    }
    out
}

/// The outcome of choosing delimiters for a file.
#[derive(Debug)]
pub struct Choice {
    /// The delimiters to render with.
    pub delims: Delims,
    /// Actions of the other kind that look like taskrun data references (`.Run`, `.Values`, …):
    /// with automatic detection these are a mixing error.
    pub conflicting: Vec<Range<usize>>,
}

/// Chooses the delimiters: forced by `--delims`, else `<< >>` when the file has `<< >>` actions,
/// else `{{ }}`.
pub fn choose(text: &str, actions: &Actions, forced: Option<Delims>) -> Choice {
    let delims = forced.unwrap_or(if actions.angles.is_empty() {
        Delims::Braces
    } else {
        Delims::Angles
    });
    let other = match delims {
        Delims::Braces => &actions.angles,
        Delims::Angles => &actions.braces,
    };
    let conflicting = other
        .iter()
        .filter(|r| references_task_data(&text[(*r).clone()]))
        .cloned()
        .collect();
    Choice {
        delims,
        conflicting,
    }
}

/// Whether an action refers to taskrun's template data.
fn references_task_data(action: &str) -> bool {
    [
        ".Run.",
        ".Build.",
        ".Values",
        ".Secrets",
        ".RunJSON",
        ".ValuesJSON",
    ]
    .iter()
    .any(|k| action.contains(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find(text: &str) -> Actions {
        find_actions(text, &[], &["upper", "default"])
    }

    #[test]
    fn detects_both_kinds() {
        let a = find("id: {{.Run.ID}}\ntag: << .Values.x >>\n");
        assert_eq!(a.braces.len(), 1);
        assert_eq!(a.angles.len(), 1);
    }

    #[test]
    fn merge_keys_and_heredocs_are_not_actions() {
        let a = find("step:\n  <<: *base\n  cmd: sh -c 'cat <<EOF >> f'\n  x: <<-EOF >>\n");
        assert!(a.angles.is_empty(), "{a:?}");
        let a = find("<< : *base\n");
        assert!(a.angles.is_empty());
    }

    #[test]
    fn functions_and_keywords_start_actions() {
        assert_eq!(find("x: << upper \"a\" >>").angles.len(), 1);
        assert_eq!(find("<<- if .Values.a >>").angles.len(), 1);
        assert_eq!(find("x: << EOF >>").angles.len(), 0);
    }

    #[test]
    fn angles_file_keeps_literal_braces() {
        let text = "cmd: docker inspect --format '{{.Id}}' << .Values.img >>";
        let c = choose(text, &find(text), None);
        assert_eq!(c.delims, Delims::Angles);
        assert!(c.conflicting.is_empty());
    }

    #[test]
    fn mixing_data_references_conflicts() {
        let text = "a: {{.Run.ID}}\nb: <<.Values.x>>";
        let c = choose(text, &find(text), None);
        assert_eq!(c.delims, Delims::Angles);
        assert_eq!(c.conflicting.len(), 1);
        let c = choose(text, &find(text), Some(Delims::Braces));
        assert_eq!(c.conflicting.len(), 1);
    }

    #[test]
    fn literal_angles_are_escaped_in_angle_mode() {
        let text = "  <<: *base\n  cmd: sh -c 'cat <<EOF' <<.Run.ID>>\n# <<: x";
        let out = escape_literal_angles(text, &[false, false, true], &[]);
        assert_eq!(
            out,
            "  <<\"<<\">>: *base\n  cmd: sh -c 'cat <<\"<<\">>EOF' <<.Run.ID>>\n# <<: x"
        );
        assert_eq!(escape_literal_angles("a: b", &[], &[]), "a: b");
    }

    #[test]
    fn comment_lines_are_skipped() {
        let a = find_actions("# <<.Run.ID>>\nx: {{.Run.ID}}", &[true], &[]);
        assert!(a.angles.is_empty());
        assert_eq!(a.braces.len(), 1);
    }
}
