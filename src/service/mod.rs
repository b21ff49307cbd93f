//! The local ACR Tasks service's logic behind `taskrun task …` and `taskrun serve` that is more
//! than wiring: what one run of a named task uses ([`overrides`]: the task's stored settings
//! with the `task run` flags over them), its log as it goes ([`runlog`]), and stopping a run
//! another process owns ([`cancel`]).
//! The command files in `commands` stay thin; nothing here prints.

pub mod cancel;
pub mod overrides;
pub mod runlog;

pub use cancel::{CancelError, CancelHow, Canceled, cancel_run};
pub use overrides::{RunInputs, RunOverrides};
pub use runlog::RunLog;

use std::path::Path;

/// `p` made absolute against the current directory (as given when that fails), as a string:
/// the form task definitions store paths in.
pub fn absolute(p: &Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}
