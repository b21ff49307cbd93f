//! The local ACR Tasks service as a library, behind `taskrun task …` and `taskrun serve`: the
//! store of named tasks and runs is [`crate::store`]; here is what uses it.
//! - [`run`]: one recorded run of a named task ([`run_task`]), from the task's stored settings
//!   with the `task run` flags over them ([`overrides`]), its log as it goes ([`runlog`]);
//! - [`triggers`]: `serve`'s cycle (base-image updates, pushes, timers, commits), and the
//!   commit a task's context is at ([`commits`]: a local branch or a git URL's reference);
//! - [`cancel`]: stopping a run another process owns;
//! - [`definition`]: task definitions from `task create` / `task update` requests.
//!
//! The command files in `commands` are argument mapping and a call; output goes through the
//! report layer's [`Printer`].

pub mod cancel;
pub mod commits;
pub mod definition;
pub mod overrides;
pub mod run;
pub mod runlog;
pub mod triggers;

pub use cancel::{CancelError, CancelHow, Canceled, cancel_run};
pub use definition::{TaskDefRequest, create_task, parse_pairs, update_task};
pub use overrides::{RunInputs, RunOverrides};
pub use run::{TaskRunOutcome, TaskRunRequest, record_digest, run_task};
pub use runlog::RunLog;
pub use triggers::{ServeRequest, cycle, serve};

use crate::report::Printer;
use crate::store::Store;

/// Runs left `Running` by a taskrun process that was killed are finished as `Error` (their
/// engine resources are removed by the next `taskrun run`, see `exec::setup`).
pub fn reap_orphans(store: &Store, printer: &Printer) {
    match store.reap_orphans(crate::exec::resources::owner_is_gone) {
        Ok(ids) => {
            for id in ids {
                printer.status(&format!(
                    "Run {id} was marked Error: the taskrun process running it has ended"
                ));
            }
        }
        Err(e) => printer.status(&format!("warning: {e}")),
    }
}

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
