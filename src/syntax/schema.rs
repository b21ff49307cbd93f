//! JSON Schema of the task format (`taskrun schema`), generated from the AST's `JsonSchema`
//! derives plus a few marker types that describe yaml.v2's lenient scalars.
//!
//! The schema accepts everything acb accepts and rejects the shape errors acb rejects (a string
//! where a list is expected, `steps` as a mapping, a step that is a string, a step with none or
//! several of `build`/`cmd`/`push`). Unknown keys are allowed, because acb ignores them.

use super::ast::File;

/// Title of the generated schema.
pub const TITLE: &str = "ACR Tasks task file (acr-task.yaml)";

/// The JSON Schema (draft 2020-12) of task files.
pub fn schema() -> serde_json::Value {
    let generated = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<File>()
        .to_value();
    let mut root = serde_json::Map::new();
    root.insert(
        "$schema".to_owned(),
        "https://json-schema.org/draft/2020-12/schema".into(),
    );
    root.insert("title".to_owned(), TITLE.into());
    root.insert(
        "description".to_owned(),
        "A multi-step task for Azure Container Registry Tasks (`az acr run -f`), as run by ACR's \
         runner `acb` and by taskrun. Templates (`{{ }}`) are rendered before this schema \
         applies. Keys not listed here are ignored by ACR (taskrun warns about them)."
            .into(),
    );
    if let serde_json::Value::Object(map) = generated {
        for (k, v) in map {
            if !root.contains_key(&k) {
                root.insert(k, v);
            }
        }
    }
    let mut value = serde_json::Value::Object(root);
    unwrap_descriptions(&mut value);
    value
}

/// Joins the lines of doc-comment descriptions (keeping paragraph breaks).
fn unwrap_descriptions(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == "description"
                    && let serde_json::Value::String(s) = v
                {
                    *s = s
                        .split("\n\n")
                        .map(|p| p.split('\n').map(str::trim).collect::<Vec<_>>().join(" "))
                        .collect::<Vec<_>>()
                        .join("\n\n");
                } else {
                    unwrap_descriptions(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}
