//! The async runtime of commands and the service ([`crate::runtime`]), with the machine's
//! refusal reported.

use crate::report::Printer;

pub use crate::runtime::Threads;

/// A tokio runtime with I/O and timers; `None` (after saying why on `printer`) when the
/// machine refuses one.
pub fn new(threads: Threads, printer: &Printer) -> Option<tokio::runtime::Runtime> {
    match crate::runtime::build(threads) {
        Ok(r) => Some(r),
        Err(e) => {
            printer.status(&format!("error: cannot start the async runtime: {e}"));
            None
        }
    }
}
