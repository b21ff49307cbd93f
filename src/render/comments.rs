//! Full-line YAML comments are not template-rendered (a template error in a comment never fails a
//! file), as in acb. Unlike acb, which deletes every line starting with `#` — even inside `|` block
//! scalars, breaking shebangs and shell comments — taskrun keeps every line: a comment line is
//! turned into a literal string action so the template engine copies it verbatim, and lines inside
//! block scalars are content, rendered like any other line. Line numbers are preserved.

/// For each line of `text` (split on `\n`), whether it is a full-line YAML comment outside any
/// block scalar.
pub fn comment_lines(text: &str) -> Vec<bool> {
    let mut out = Vec::new();
    // Indentation of the line that opened the current block scalar, if inside one.
    let mut block_parent: Option<usize> = None;
    for line in text.split('\n') {
        let trimmed = line.trim_start_matches([' ', '\t']);
        let indent = line.len() - trimmed.len();
        let blank = trimmed.trim_end().is_empty();
        if let Some(parent) = block_parent {
            if blank || indent > parent {
                out.push(false);
                continue;
            }
            block_parent = None;
        }
        let is_comment = trimmed.starts_with('#');
        out.push(is_comment);
        if !is_comment && opens_block_scalar(trimmed) {
            block_parent = Some(indent);
        }
    }
    out
}

/// Whether a (non-comment) line ends with a block scalar indicator: `key: |`, `- >-`, `key: |2+`,
/// optionally followed by a comment.
fn opens_block_scalar(line: &str) -> bool {
    let code = strip_trailing_comment(line).trim_end();
    let Some(pos) = code.rfind(['|', '>']) else {
        return false;
    };
    let indicators = &code[pos + 1..];
    if indicators.len() > 2
        || !indicators
            .chars()
            .all(|c| c == '-' || c == '+' || c.is_ascii_digit())
    {
        return false;
    }
    let before = code[..pos].trim_end();
    before.is_empty() || before.ends_with(':') || before.ends_with('-')
}

fn strip_trailing_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let mut quote: Option<u8> = None;
    for (i, &b) in bytes.iter().enumerate() {
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'\'' || b == b'"' => quote = Some(b),
            None if b == b'#' && (i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') => {
                return &line[..i];
            }
            None => {}
        }
    }
    line
}

/// Rewrites every comment line flagged in `mask` as `<left>"<go-quoted line>"<right>`, a template
/// action that outputs the line unchanged, so templates inside comments are never executed.
pub fn protect(text: &str, mask: &[bool], left: &str, right: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if mask.get(i).copied().unwrap_or(false) && (line.contains(left) || line.contains(right)) {
            out.push_str(left);
            out.push_str(&go_quote(line));
            out.push_str(right);
        } else {
            out.push_str(line);
        }
    }
    out
}

/// A Go interpreted string literal for `s`.
fn go_quote(s: &str) -> String {
    let mut q = String::with_capacity(s.len() + 2);
    q.push('"');
    for c in s.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\r' => q.push_str("\\r"),
            '\t' => q.push_str("\\t"),
            c if c.is_control() => q.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_outside_block_scalars_only() {
        let text = "# top\nsteps:\n  # step comment\n  - cmd: |\n      #!/bin/sh\n      # keep\n      echo\n    # after block? no, still indented deeper than `- cmd`\n  # back\n";
        let mask = comment_lines(text);
        assert_eq!(
            mask,
            vec![
                true, false, true, false, false, false, false, false, true, false
            ]
        );
    }

    #[test]
    fn block_indicators() {
        assert!(opens_block_scalar("cmd: |"));
        assert!(opens_block_scalar("- >-"));
        assert!(opens_block_scalar("cmd: |2+ # c"));
        assert!(!opens_block_scalar("cmd: a | b"));
        assert!(!opens_block_scalar("cmd: echo >"));
        assert!(!opens_block_scalar("build: -t a ."));
    }

    #[test]
    fn protect_makes_comment_literal() {
        let text = "# {{ bad template\nid: {{.Run.ID}}";
        let mask = comment_lines(text);
        let out = protect(text, &mask, "{{", "}}");
        assert_eq!(out, "{{\"# {{ bad template\"}}\nid: {{.Run.ID}}");
        let plain = protect("# no action\n", &[true], "{{", "}}");
        assert_eq!(plain, "# no action\n");
    }
}
