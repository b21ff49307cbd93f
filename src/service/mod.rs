//! The local ACR Tasks service's logic behind `taskrun task …` and `taskrun serve` that is more
//! than wiring: what one run of a named task uses ([`overrides`]: the task's stored settings
//! with the `task run` flags over them), its log as it goes ([`runlog`]), stopping a run
//! another process owns ([`cancel`]), and the commit a task's context is at ([`commits`]).
//! The command files in `commands` stay thin; nothing here prints.

pub mod cancel;
pub mod commits;
pub mod overrides;
pub mod runlog;

pub use cancel::{CancelError, CancelHow, Canceled, cancel_run};
pub use overrides::{RunInputs, RunOverrides};
pub use runlog::RunLog;

use std::path::Path;

/// Whether a task's context is fetched for each run (a git URL, a tarball URL, `oci://…`)
/// rather than a local directory (`DIR` or `DIR#BRANCH`).
pub fn is_remote_context(context: &str) -> bool {
    crate::context::remote::RemoteSource::parse(context).is_some()
}

/// `p` made absolute against the current directory (as given when that fails), as a string:
/// the form task definitions store paths in.
pub fn absolute(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}
