//! `taskrun render`: print the text after aliases and templates.

use crate::cli::RenderArgs;
use crate::commands::ExitStatus;
use crate::ops::{check, resolve_inputs};
use crate::render;
use crate::report::{Printer, mask};

/// Prints the rendered text of the task file; exit 2 when it cannot be rendered.
pub fn render(args: &RenderArgs, printer: &Printer) -> ExitStatus {
    let mut inputs = match resolve_inputs(&args.file.request(), std::env::vars()) {
        Ok(i) => i,
        Err(problems) => {
            printer.problems(&problems, &[]);
            return ExitStatus::InvalidInput;
        }
    };
    let filled = if args.placeholders && !inputs.strict {
        render::placeholders::fill(&inputs.file.text, &mut inputs.data)
    } else {
        Vec::new()
    };
    if let Some(note) = check::placeholder_note(&filled) {
        printer.status(&note);
    }
    match render::render(&inputs.file, &inputs.data, &inputs.secrets, &inputs.render) {
        Ok(rendered) => {
            printer.problems(&rendered.warnings, &inputs.masked);
            printer.data(&mask(&rendered.source.text, &inputs.masked));
            ExitStatus::Success
        }
        Err(problems) => {
            printer.problems(&problems, &inputs.masked);
            ExitStatus::InvalidInput
        }
    }
}
