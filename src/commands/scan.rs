//! `taskrun scan`: the base-image dependencies of a Dockerfile, in acb's dependency JSON.

use crate::cli::ScanArgs;
use crate::commands::ExitStatus;
use crate::report::Printer;

/// Scans the Dockerfile of a build context and prints the dependency JSON.
pub fn scan(args: &ScanArgs, printer: &Printer) -> ExitStatus {
    let _ = args;
    printer.status("error: `taskrun scan` is being built");
    ExitStatus::Environment
}
