//! `taskrun render`: print the text after aliases and templates.

use crate::cli::{FileArgs, resolve_inputs};
use crate::commands::ExitStatus;
use crate::render;
use crate::report::{Printer, mask};

/// Prints the rendered text of the task file; exit 2 when it cannot be rendered.
pub fn render(args: &FileArgs, printer: &Printer) -> ExitStatus {
    let inputs = match resolve_inputs(args, std::env::vars()) {
        Ok(i) => i,
        Err(problems) => {
            printer.problems(&problems, &[]);
            return ExitStatus::InvalidInput;
        }
    };
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
