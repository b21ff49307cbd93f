//! `taskrun serve [--interval SECS] [--once]`: the trigger daemon of the local ACR Tasks
//! service ([`crate::service::triggers`]).

use crate::cli::ServeArgs;
use crate::commands::ExitStatus;
use crate::report::Printer;
use crate::service::{self, ServeRequest};
use crate::store::{Store, default_home};

/// Runs the trigger loop (one cycle with `--once`).
pub fn serve(args: &ServeArgs, printer: &Printer) -> ExitStatus {
    let store = match Store::open(&default_home()) {
        Ok(s) => s,
        Err(e) => {
            printer.status(&format!("error: {e}"));
            return ExitStatus::Environment;
        }
    };
    let request = ServeRequest {
        interval: std::time::Duration::from_secs(args.interval),
        once: args.once,
        insecure_registries: args.insecure_registries.clone(),
    };
    service::serve(&store, &request, printer)
}
