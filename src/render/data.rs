//! The data a task template sees: `.Run`, `.Build`, `.Values`, `.ValuesJSON`, `.RunJSON`, `.Secrets`.
//!
//! Key names and formats are ACR's (reference/acb-behaviour.md §4.3): `.Run.Date` is
//! `%Y%m%d-%H%M%Sz` in UTC, `.ValuesJSON`/`.RunJSON` are compact JSON with sorted keys, Go's HTML
//! escaping, and shell quoting.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value as Json;

/// The run variables (`.Run.*`), as ACR names them.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct RunInfo {
    /// Run id (`--run-id`), e.g. `ca1`.
    #[serde(rename = "ID")]
    pub id: String,
    /// Run registry (`-r/--registry`), e.g. `myregistry.azurecr.io`.
    pub registry: String,
    /// The registry name: the text before the first `.` of `registry`.
    pub registry_name: String,
    /// Start time, `%Y%m%d-%H%M%Sz` UTC.
    pub date: String,
    /// `linux`.
    #[serde(rename = "OS")]
    pub os: String,
    /// `--os-version` in ACR; empty locally.
    #[serde(rename = "OSVersion")]
    pub os_version: String,
    /// Go's name for the machine architecture (`amd64`, `arm64`, `arm`).
    pub architecture: String,
    /// `--commit`.
    pub commit: String,
    /// `--branch`.
    pub branch: String,
    /// `--repository`.
    pub repository: String,
    /// `--git-tag`.
    pub git_tag: String,
    /// `--triggered-by`.
    pub triggered_by: String,
    /// The run's shared workspace volume.
    pub shared_volume: String,
    /// `--name`: the task name (empty for quick runs).
    pub task_name: String,
}

impl RunInfo {
    /// Run info with ACR's derived fields filled: date from `now`, registry name from the
    /// registry, OS and architecture of this machine.
    pub fn new(id: &str, registry: &str, now: DateTime<Utc>) -> Self {
        Self {
            id: id.to_owned(),
            registry: registry.to_owned(),
            registry_name: registry_name(registry).to_owned(),
            date: format_run_date(now),
            os: "linux".to_owned(),
            architecture: go_arch(std::env::consts::ARCH).to_owned(),
            ..Self::default()
        }
    }
}

/// ACR's `.Run.RegistryName`: the text before the first `.` (the whole string when there is none).
pub fn registry_name(registry: &str) -> &str {
    registry.split('.').next().unwrap_or(registry)
}

/// ACR's `.Run.Date` format: Go layout `20060102-150405z`.
pub fn format_run_date(now: DateTime<Utc>) -> String {
    now.format("%Y%m%d-%H%M%Sz").to_string()
}

pub use crate::model::platform::go_arch;

/// Everything the template engine gets, before conversion to template values.
#[derive(Debug, Clone, Default)]
pub struct TemplateData {
    /// `.Run` (and `.Build.ID`).
    pub run: RunInfo,
    /// `.Values`: values file merged with `--set` and `--set-secret`.
    pub values: BTreeMap<String, Json>,
    /// `.Secrets`: resolved secret values by id.
    pub secrets: BTreeMap<String, String>,
}

impl TemplateData {
    /// The JSON object handed to the template engine.
    pub fn to_json(&self) -> Json {
        let run = serde_json::to_value(&self.run).unwrap_or(Json::Null);
        let values = Json::Object(self.values.clone().into_iter().collect());
        let values_json = shell_quote(&go_json(&values));
        let run_json = shell_quote(&go_json(&sorted(&run)));
        let secrets = Json::Object(
            self.secrets
                .iter()
                .map(|(k, v)| (k.clone(), Json::String(v.clone())))
                .collect(),
        );
        serde_json::json!({
            "Run": run,
            "Build": { "ID": self.run.id },
            "Values": values,
            "ValuesJSON": values_json,
            "RunJSON": run_json,
            "Secrets": secrets,
        })
    }

    /// The template engine's value for this data.
    pub fn to_template_value(&self) -> gotmpl::Value {
        gotmpl::to_value(&self.to_json()).unwrap_or(gotmpl::Value::Nil)
    }
}

/// A copy of `v` whose object keys are sorted at every level (Go's `encoding/json` order).
fn sorted(v: &Json) -> Json {
    match v {
        Json::Object(m) => {
            let mut keys: Vec<_> = m.keys().collect();
            keys.sort();
            Json::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&m[k])))
                    .collect(),
            )
        }
        Json::Array(a) => Json::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Compact JSON as Go's `json.Marshal` writes it: sorted keys, `<`, `>`, `&` escaped.
pub fn go_json(v: &Json) -> String {
    let text = serde_json::to_string(&sorted(v)).unwrap_or_default();
    text.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// Shell quoting as acb applies it to `.ValuesJSON`/`.RunJSON`: unchanged when every character is
/// in `[A-Za-z0-9_@%+=:,./-]`, otherwise wrapped in single quotes with `'` written as `'"'"'`;
/// `''` for the empty string.
pub fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".to_owned();
    }
    let safe = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_@%+=:,./-".contains(c));
    if safe {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\"'\"'"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn registry_name_is_text_before_first_dot() {
        assert_eq!(registry_name("myreg.azurecr.io"), "myreg");
        assert_eq!(registry_name("foo-bar.azurecr-test.io"), "foo-bar");
        assert_eq!(registry_name("localhost:5000"), "localhost:5000");
        assert_eq!(registry_name(""), "");
    }

    #[test]
    fn run_date_uses_acr_layout() {
        let t = Utc.with_ymd_and_hms(2024, 3, 5, 7, 8, 9).unwrap();
        assert_eq!(format_run_date(t), "20240305-070809z");
    }

    #[test]
    fn json_is_sorted_go_escaped_and_shell_quoted() {
        let v = serde_json::json!({"b": "<x&y>", "a": 1});
        assert_eq!(go_json(&v), r#"{"a":1,"b":"\u003cx\u0026y\u003e"}"#);
        assert_eq!(shell_quote(r#"{"a":1}"#), r#"'{"a":1}'"#);
        assert_eq!(shell_quote("it's"), r#"'it'"'"'s'"#);
        assert_eq!(shell_quote("a.b/c:1"), "a.b/c:1");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn run_json_keys_are_sorted() {
        let data = TemplateData {
            run: RunInfo::new(
                "ca1",
                "r.io",
                Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap(),
            ),
            ..TemplateData::default()
        };
        let json = data.to_json();
        let run_json = json["RunJSON"].as_str().unwrap();
        let arch = run_json.find("Architecture").unwrap();
        let branch = run_json.find("Branch").unwrap();
        let id = run_json.find("\"ID\"").unwrap();
        assert!(arch < branch && branch < id);
        assert_eq!(json["Build"]["ID"], "ca1");
        assert_eq!(json["Run"]["RegistryName"], "r");
        assert_eq!(json["Run"]["Date"], "20240102-030405z");
    }
}
