//! `taskrun run` (the default command): the flags become a [`RunRequest`] for [`ops::run`].

use crate::cli::RunArgs;
use crate::commands::ExitStatus;
use crate::ops::{self, RunRequest};
use crate::report::Printer;

/// Runs the task file.
pub fn run(args: &RunArgs, printer: &Printer) -> ExitStatus {
    let request = RunRequest {
        file: args.file.request(),
        context: args.context.clone(),
        cmd: args.cmd.clone(),
        dry_run: args.dry_run,
        output: args.output,
        credential: args.credential.clone(),
        max_parallel: args.max_parallel.map(usize::from),
        deps_file: args.deps_file.clone(),
        insecure_registries: args.insecure_registries.clone(),
        keep_workspace: args.keep_workspace,
        timeout: args.timeout.map(std::time::Duration::from_secs),
        log: None,
        git_access_token: None,
    };
    ops::run(request, printer).exit_status()
}
