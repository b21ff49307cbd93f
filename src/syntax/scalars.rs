//! Marker types that describe yaml.v2's lenient scalars in the JSON Schema: the AST's
//! `JsonSchema` derives name them (`#[schemars(with = …)]`), and `taskrun schema`
//! ([`super::schema`]) is generated from the AST. Kept apart so the AST does not depend on
//! the schema command.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

/// A string field: acb (yaml.v2) accepts any scalar and keeps its text (`id: 123` is `"123"`).
pub(crate) struct Text;

impl JsonSchema for Text {
    fn schema_name() -> Cow<'static, str> {
        "Text".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A string. Any scalar is accepted and used as written (`123`, `true`); `~` is empty.",
            "type": ["string", "number", "boolean", "null"]
        })
    }
}

/// A boolean field: YAML 1.1 spellings are booleans too.
pub(crate) struct Flag;

impl JsonSchema for Flag {
    fn schema_name() -> Cow<'static, str> {
        "Flag".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A boolean. YAML 1.1 spellings (`yes`/`no`, `on`/`off`, `y`/`n`) are accepted unquoted, as in ACR.",
            "anyOf": [
                {"type": ["boolean", "null"]},
                {"enum": [
                    "y", "Y", "yes", "Yes", "YES", "on", "On", "ON",
                    "n", "N", "no", "No", "NO", "off", "Off", "OFF"
                ]}
            ]
        })
    }
}

/// An integer field: floats are truncated, a quoted number is an error.
pub(crate) struct Number;

impl JsonSchema for Number {
    fn schema_name() -> Cow<'static, str> {
        "Number".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A whole number (a fraction is truncated, as in ACR). Must not be quoted.",
            "type": ["number", "null"]
        })
    }
}

/// Aliases (`version: v1.1.0` only): `$name` in the file is replaced by the alias value before
/// templates are rendered, and the first word of a `cmd` may be an image alias.
#[derive(JsonSchema)]
#[allow(dead_code)]
pub(crate) struct Alias {
    /// Files or URLs of YAML maps of aliases; the last listed wins.
    src: Option<Vec<Text>>,
    /// Aliases defined inline; they win over `src` and built-ins.
    values: Option<indexmap::IndexMap<String, Text>>,
    /// The character that starts an alias reference (default `$`); one non-alphanumeric
    /// character.
    directive: Option<Text>,
}
