//! `.Values`: the `--values` file merged with `--set` and `--set-secret` (later flags win), as
//! `az acr run` does. Unlike acb, nested maps in the values file work (acb fails on them).

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::diag::{Code, Problem};
use crate::source::Source;

/// Splits a `KEY=VALUE` flag value at the first `=`. The key must be non-empty; the value may be
/// empty or contain `=` and commas (never split, as in acb).
pub fn parse_assignment(flag: &str, raw: &str) -> Result<(String, String), Problem> {
    match raw.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        Some(_) => Err(Problem::error(
            Code::FlagFormat,
            format!("`{flag} {raw}` has an empty key"),
        )
        .with_help(format!("write `{flag} KEY=VALUE`"))),
        None => Err(
            Problem::error(Code::FlagFormat, format!("`{flag} {raw}` has no `=`"))
                .with_help(format!("write `{flag} KEY=VALUE`")),
        ),
    }
}

/// Parses the text of a values file: a YAML mapping (YAML 1.1 booleans and legacy octal numbers,
/// as ACR's yaml.v2 reads them). An empty file gives no values.
pub fn parse_values(src: &Source) -> Result<BTreeMap<String, Json>, Problem> {
    if src.text.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let options = serde_saphyr::options! {
        legacy_octal_numbers: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::LastWins,
    };
    let parsed: Result<Json, _> = serde_saphyr::from_str_with_options(&src.text, options);
    match parsed {
        Ok(Json::Object(map)) => Ok(map.into_iter().collect()),
        Ok(Json::Null) => Ok(BTreeMap::new()),
        Ok(other) => Err(Problem::error(
            Code::ValuesFile,
            format!(
                "the values file `{}` must be a mapping of names to values, not {}",
                src.name,
                json_kind(&other)
            ),
        )
        .in_source(src)
        .with_label(0..src.text.len().min(1), "expected `name: value` lines")
        .with_help("write one `name: value` per line")),
        Err(err) => {
            let at = err
                .location()
                .and_then(|l| l.span().byte_offset())
                .and_then(|o| usize::try_from(o).ok())
                .unwrap_or(0);
            Err(Problem::error(
                Code::ValuesFile,
                format!("the values file `{}` is not valid YAML", src.name),
            )
            .in_source(src)
            .with_label(at..at, first_line(&err.to_string()))
            .with_help("fix the YAML, or pass single values with `--set KEY=VALUE`"))
        }
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().to_owned()
}

fn json_kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a mapping",
    }
}

/// Merges the values file with `--set` pairs (in order; a later key wins over an earlier one and
/// over the file). `--set` values are always strings; dots are not nesting (`a.b` is one key).
pub fn merge(file: BTreeMap<String, Json>, sets: &[(String, String)]) -> BTreeMap<String, Json> {
    let mut out = file;
    for (k, v) in sets {
        out.insert(k.clone(), Json::String(v.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_splits_at_first_equals() {
        assert_eq!(
            parse_assignment("--set", "a=b=c,d").unwrap(),
            ("a".into(), "b=c,d".into())
        );
        assert_eq!(
            parse_assignment("--set", "a=").unwrap(),
            ("a".into(), "".into())
        );
        assert_eq!(
            parse_assignment("--set", "=x").unwrap_err().code,
            Code::FlagFormat
        );
        assert_eq!(
            parse_assignment("--set", "novalue").unwrap_err().code,
            Code::FlagFormat
        );
    }

    #[test]
    fn values_file_keeps_types_and_nesting() {
        let src = Source::new(
            "v.yaml",
            "born: 1867\nflag: yes\nmode: 0777\nlist: [a, b]\nnested:\n  deep: x\n",
        );
        let v = parse_values(&src).unwrap();
        assert_eq!(v["born"], serde_json::json!(1867));
        assert_eq!(v["flag"], serde_json::json!(true));
        assert_eq!(v["mode"], serde_json::json!(511));
        assert_eq!(v["list"], serde_json::json!(["a", "b"]));
        assert_eq!(v["nested"]["deep"], serde_json::json!("x"));
    }

    #[test]
    fn values_file_must_be_a_mapping() {
        let err = parse_values(&Source::new("v.yaml", "- a\n- b\n")).unwrap_err();
        assert_eq!(err.code, Code::ValuesFile);
        let err = parse_values(&Source::new("v.yaml", "a: [\n")).unwrap_err();
        assert_eq!(err.code, Code::ValuesFile);
        assert!(
            parse_values(&Source::new("v.yaml", "# only a comment\n"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn set_overrides_file_and_later_set_wins() {
        let file = BTreeMap::from([("a".to_owned(), serde_json::json!(1))]);
        let merged = merge(
            file,
            &[
                ("a".into(), "2".into()),
                ("b".into(), "x".into()),
                ("b".into(), "y".into()),
            ],
        );
        assert_eq!(merged["a"], serde_json::json!("2"));
        assert_eq!(merged["b"], serde_json::json!("y"));
    }
}
