//! The one async runtime helper: commands and the service are synchronous at the top and
//! enter tokio here.

use crate::report::Printer;

/// Which runtime: a run uses every core (steps, builds and log streams run at once); the
/// service's trigger loop and small commands need only one thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// A multi-threaded runtime.
    Many,
    /// A current-thread runtime.
    One,
}

/// A tokio runtime with I/O and timers; `None` (after saying why on `printer`) when the
/// machine refuses one.
pub fn new(threads: Threads, printer: &Printer) -> Option<tokio::runtime::Runtime> {
    let mut builder = match threads {
        Threads::Many => tokio::runtime::Builder::new_multi_thread(),
        Threads::One => tokio::runtime::Builder::new_current_thread(),
    };
    match builder.enable_all().build() {
        Ok(r) => Some(r),
        Err(e) => {
            printer.status(&format!("error: cannot start the async runtime: {e}"));
            None
        }
    }
}
