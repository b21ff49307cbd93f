//! `taskrun schema`: the JSON Schema of task files (also committed as
//! `schemas/acr-task.schema.json`).

use crate::commands::ExitStatus;
use crate::report::Printer;

/// The schema as pretty JSON with a trailing newline.
pub fn schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&crate::syntax::schema()).unwrap_or_default();
    s.push('\n');
    s
}

/// Prints the schema.
pub fn schema(printer: &Printer) -> ExitStatus {
    printer.data(&schema_text());
    ExitStatus::Success
}
