//! The one place a tokio runtime is built (I/O and timers enabled). Commands, the service and
//! the blocking helpers (a CONTEXT fetch, a `git ls-remote`, the signal watcher) are
//! synchronous at the top and enter tokio through here; `ops::runtime` adds the report.
//! A leaf module.

/// Which runtime: a run uses every core (steps, builds and log streams run at once); the
/// service's trigger loop and small blocking helpers need only one thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// A multi-threaded runtime.
    Many,
    /// A current-thread runtime.
    One,
}

/// A tokio runtime with I/O and timers.
pub fn build(threads: Threads) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match threads {
        Threads::Many => tokio::runtime::Builder::new_multi_thread(),
        Threads::One => tokio::runtime::Builder::new_current_thread(),
    };
    builder.enable_all().build()
}
