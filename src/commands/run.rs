//! `taskrun run` (the default command): the flags become a [`RunRequest`] for [`ops::run`].

use crate::cli::RunArgs;
use crate::commands::ExitStatus;
use crate::ops::{self, RunRequest};
use crate::report::Printer;

/// Runs the task file.
pub fn run(args: &RunArgs, printer: &Printer) -> ExitStatus {
    let mut request = RunRequest {
        file: args.file.request(),
        context: args.context.clone(),
        cmd: args.cmd.clone(),
        max_parallel: args.max_parallel.map(usize::from),
        ..RunRequest::default()
    };
    args.control.apply(&mut request);
    ops::run(request, printer).exit_status()
}
