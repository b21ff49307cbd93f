//! The `syntax` stage: rendered text → spanned [`ast::File`], as acb's `yaml.Unmarshal` into its
//! `Task` struct would read it.
//!
//! Parsing uses serde-saphyr with yaml.v2-compatible options (YAML 1.1 booleans, legacy octal
//! numbers, merge keys, duplicate keys passed through so the last one wins). Every type error is
//! collected, not only the first, like yaml.v2's `unmarshal errors` list; unknown keys (acb
//! ignores them) and duplicate keys are warnings.

pub mod ast;
mod convert;
mod keys;
mod node;
mod scalars;
mod schema;

#[cfg(test)]
mod tests;

use crate::diag::{Code, Problem, Problems};
use crate::source::Source;

pub use schema::schema;

/// yaml.v2 (libyaml) reads a lone `-` in a flow sequence (`when: [-]`, common in real task
/// files) as the string `"-"`; YAML 1.2 parsers refuse it. Returns the source with every `[-]`
/// (spaces allowed inside) written as `["-"]`, or the same source when there is none.
pub fn yaml11_compat(src: &Source) -> Source {
    let text = &src.text;
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        if bytes[i] == b'[' {
            let mut j = i + 1;
            while j < bytes.len() && (bytes[j] == b' ' || bytes[j] == b'\t') {
                j += 1;
            }
            if j < bytes.len() && bytes[j] == b'-' {
                let mut k = j + 1;
                while k < bytes.len() && (bytes[k] == b' ' || bytes[k] == b'\t') {
                    k += 1;
                }
                if k < bytes.len() && bytes[k] == b']' {
                    out.push_str(&text[copied..i]);
                    out.push_str(r#"["-"]"#);
                    copied = k + 1;
                    i = k + 1;
                    continue;
                }
            }
        }
        i += 1;
    }
    if copied == 0 {
        return src.clone();
    }
    out.push_str(&text[copied..]);
    Source::new(src.name.clone(), out)
}

/// Parses the (already rendered) text of a task file.
///
/// Returns the AST when the text is valid YAML, and every problem found: a YAML syntax error
/// (`Code::Yaml`, then nothing else, and no AST), type errors (`Code::Type`, all of them),
/// unknown keys (`Code::UnknownKey`) and duplicate keys (`Code::DuplicateKey`) as warnings.
/// With type errors the AST is still returned, each mistyped value treated as absent (a step
/// that is not a mapping stays as an empty step marked [`ast::Step::kind_mistyped`]), so that
/// `validate` can report the file's other problems at once; the caller must not use a task
/// built from it. An empty document, or one with only comments, is a valid task with zero steps.
pub fn parse(src: &Source) -> (Option<ast::File>, Problems) {
    let root = match node::parse(src) {
        Ok(root) => root,
        Err(err) => return (None, Problems::from(yaml_problem(&err, src))),
    };
    let mut converter = convert::Converter::new(src);
    let file = converter.file(root.as_ref());
    (Some(file), converter.into_problems())
}

fn yaml_problem(err: &node::SyntaxError, src: &Source) -> Problem {
    let mut start = err.offset.min(src.text.len());
    while !src.text.is_char_boundary(start) {
        start -= 1;
    }
    let end = src
        .text
        .get(start..)
        .and_then(|rest| rest.chars().next())
        .map_or(start, |c| start + c.len_utf8());
    Problem::error(Code::Yaml, format!("invalid YAML: {}", err.message))
        .with_label(start..end, "here")
        .with_help(yaml_help(&err.message))
        .in_source(src)
}

/// A hint for a YAML syntax error, from serde-saphyr's message.
fn yaml_help(message: &str) -> String {
    let m = message.to_ascii_lowercase();
    let hint = if m.contains("mapping values are not allowed")
        || m.contains("could not find expected ':'")
        || m.contains("placement of ':'")
    {
        "a plain value that contains `: ` or starts with `{`, `[`, `*`, `&`, `!`, `|`, `>`, `@` \
         or `` ` `` must be quoted, e.g. `cmd: \"bash -c 'echo a: b'\"`; otherwise check the \
         indentation of this line"
    } else if m.contains("unexpected character") || m.contains("cannot start any token") {
        "a value starting with `@`, `` ` `` or `%` must be quoted"
    } else if m.contains("tab") {
        "YAML indentation must use spaces, not tabs"
    } else if m.contains("trailing content") {
        "a value that starts with a quote ends at the closing quote; quote the whole value \
         (e.g. `cmd: 'echo \"a\" b'`) or use a block scalar (`|`)"
    } else if m.contains("cannot start with") {
        "a value starting with `-` followed by `,`, `[`, `]`, `{` or `}` must be quoted"
    } else if m.contains("did not find expected key") {
        "check the indentation of this line; a value that starts with `{`, `[` or a quote and \
         continues after the closing bracket or quote must be quoted as a whole"
    } else if m.contains("unclosed quote") || m.contains("quoted scalar") {
        "close the quote; for text containing quotes use the other kind of quotes or a block \
         scalar (`|`)"
    } else if m.contains("unclosed bracket") || m.contains("flow") {
        "close the `[` or `{`, or quote the value if the bracket is meant as text"
    } else if m.contains("anchor") || m.contains("alias") {
        "define the anchor (`&name`) before using it as `*name`; a value starting with `*` or `&` \
         must be quoted"
    } else if m.contains("indicator") || m.contains("block") || m.contains("indent") {
        "check the indentation: the items of one list or mapping must start in the same column"
    } else {
        "fix the YAML syntax at this position"
    };
    format!("{hint}. If the text came from a template, `taskrun render` shows what was parsed")
}
