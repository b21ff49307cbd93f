//! `taskrun graph`: the step graph as text, dot, mermaid or JSON.

use crate::cli::{GraphArgs, GraphFormat};
use crate::commands::ExitStatus;
use crate::ops::check;
use crate::plan;
use crate::report::Printer;

/// Prints the plan of the task file; exit 2 when it is invalid.
pub fn graph(args: &GraphArgs, printer: &Printer) -> ExitStatus {
    match check(&args.file.request(), true) {
        Ok(checked) => {
            printer.problems(&checked.warnings, &checked.inputs.masked);
            let text = match args.format {
                GraphFormat::Text => plan::to_text(&checked.plan),
                GraphFormat::Dot => plan::to_dot(&checked.plan),
                GraphFormat::Mermaid => plan::to_mermaid(&checked.plan),
                GraphFormat::Json => plan::to_json(&checked.plan),
            };
            printer.data(&crate::secrets::mask(&text, &checked.inputs.masked));
            ExitStatus::Success
        }
        Err(failed) => {
            printer.failed(&failed.problems, &failed.masked, failed.note.as_deref());
            ExitStatus::InvalidInput
        }
    }
}
