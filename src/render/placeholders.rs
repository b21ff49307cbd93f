//! Placeholder values for `validate` and `graph`: a file checked without the values it will run
//! with (`--set`, `--values`, `--commit`, …) would otherwise render empty strings where the
//! values go, and fail on problems that only exist without them (`-t app:{{.Values.tag}}` ends
//! in `:`, `when: ["{{.Values.step}}"]` is empty). acb's `render` has no such mode; `taskrun
//! render` and `run` never use placeholders.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::render::TemplateData;

/// Fills every `.Values.<path>` that `text` refers to and `data` lacks with its last path segment
/// (`{{.Values.tag}}` renders `tag`), and every empty `.Run` field a file may use with a
/// plausible value. Returns the names that were filled (`.Values.tag`, `.Run.Commit`) among
/// those the text refers to, sorted.
pub fn fill(text: &str, data: &mut TemplateData) -> Vec<String> {
    let mut filled = Vec::new();
    for path in value_paths(text) {
        let Some((top, rest)) = path.split_first() else {
            continue;
        };
        if data.values.contains_key(top) {
            continue;
        }
        data.values.insert(top.clone(), nested(top, rest));
        filled.push(format!(".Values.{top}"));
    }
    let run = &mut data.run;
    let fields: [(&str, &mut String, &str); 6] = [
        (
            "Commit",
            &mut run.commit,
            "0123456789abcdef0123456789abcdef01234567",
        ),
        ("Branch", &mut run.branch, "main"),
        ("GitTag", &mut run.git_tag, "v0.0.0"),
        ("Repository", &mut run.repository, "repository"),
        ("TriggeredBy", &mut run.triggered_by, "manual"),
        ("TaskName", &mut run.task_name, "task"),
    ];
    for (name, field, placeholder) in fields {
        if field.is_empty() {
            *field = placeholder.to_owned();
            if text.contains(&format!(".Run.{name}")) || refers_alias(text, name) {
                filled.push(format!(".Run.{name}"));
            }
        }
    }
    filled.sort();
    filled.dedup();
    filled
}

/// A value for `rest` below `top`: the last segment's name as a string, in nested maps.
fn nested(top: &str, rest: &[String]) -> Json {
    match rest.split_first() {
        None => Json::String(top.to_owned()),
        Some((next, more)) => {
            let mut m = serde_json::Map::new();
            m.insert(next.clone(), nested(next, more));
            Json::Object(m)
        }
    }
}

/// Every `.Values.a.b` path in the text (as segments), in order of first appearance.
fn value_paths(text: &str) -> Vec<Vec<String>> {
    let mut out: BTreeMap<Vec<String>, ()> = BTreeMap::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(".Values.") {
        let start = from + i + ".Values.".len();
        let mut segments = Vec::new();
        let mut pos = start;
        loop {
            let seg: String = text[pos..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if seg.is_empty() || seg.starts_with(|c: char| c.is_ascii_digit()) {
                break;
            }
            pos += seg.len();
            segments.push(seg);
            if text[pos..].starts_with('.')
                && text[pos + 1..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            {
                pos += 1;
            } else {
                break;
            }
        }
        if !segments.is_empty() {
            out.insert(segments, ());
        }
        from = pos.max(start);
    }
    out.into_keys().collect()
}

/// Whether a v1.1.0 built-in alias (`$Commit`) for `name` appears in the text.
fn refers_alias(text: &str, name: &str) -> bool {
    let needle = format!("${name}");
    text.match_indices(&needle).any(|(i, _)| {
        text[i + needle.len()..]
            .chars()
            .next()
            .is_none_or(|c| !c.is_ascii_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_missing_values_with_their_names() {
        let mut data = TemplateData::default();
        data.values.insert("given".into(), Json::String("x".into()));
        let filled = fill(
            "a: {{.Values.tag}} {{.Values.given}} {{ .Values.cfg.sub.leaf }} {{.Run.Commit | substr 0 7}} $Branch",
            &mut data,
        );
        assert_eq!(
            filled,
            vec![".Run.Branch", ".Run.Commit", ".Values.cfg", ".Values.tag"]
        );
        assert_eq!(data.values["tag"], Json::String("tag".into()));
        assert_eq!(data.values["given"], Json::String("x".into()));
        assert_eq!(
            data.values["cfg"]["sub"]["leaf"],
            Json::String("leaf".into())
        );
        assert_eq!(data.run.commit.len(), 40);
        assert_eq!(data.run.task_name, "task");
    }

    #[test]
    fn nothing_to_fill() {
        let mut data = TemplateData::default();
        data.run.commit = "abc".into();
        assert!(fill("steps: []", &mut data).is_empty());
        assert_eq!(data.run.commit, "abc");
    }
}
