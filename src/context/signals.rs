//! Ctrl-C (SIGINT) and SIGTERM for the work done before a run's own signal handler exists: the
//! fetch of a remote CONTEXT, and the checks between the fetch and the run.
//!
//! Once tokio has registered a handler for a signal, the signal no longer ends the process by
//! default, also after that runtime is gone. So the first fetch starts one watcher for the
//! whole process (a thread with its own small runtime) that counts the signals it sees; work
//! takes a [`Mark`] when it starts and asks [`Mark::interrupted`] later, or awaits
//! [`Mark::wait`] to be stopped. A run's own handler (`commands::run`) still sees every signal:
//! tokio delivers each one to all its listeners.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

static SIGNALS: AtomicU64 = AtomicU64::new(0);
static NOTIFY: Notify = Notify::const_new();
static WATCHER: OnceLock<bool> = OnceLock::new();

/// The signals seen up to a point in time.
#[derive(Debug, Clone, Copy)]
pub struct Mark(u64);

impl Mark {
    /// Starts the process's watcher (once; its handlers are registered before this returns)
    /// and marks now.
    pub fn now() -> Self {
        WATCHER.get_or_init(start_watcher);
        Mark(SIGNALS.load(Ordering::SeqCst))
    }

    /// Whether Ctrl-C or SIGTERM came since the mark.
    pub fn interrupted(self) -> bool {
        SIGNALS.load(Ordering::SeqCst) != self.0
    }

    /// Returns when Ctrl-C or SIGTERM came since the mark (at once if one already did).
    pub async fn wait(self) {
        loop {
            let notified = NOTIFY.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.interrupted() {
                return;
            }
            notified.await;
        }
    }
}

/// Registers the handlers, then serves them on a thread; false when that was impossible (then
/// signals keep their default effect).
fn start_watcher() -> bool {
    use tokio::signal::unix::{SignalKind, signal};
    let Ok(runtime) = crate::runtime::build(crate::runtime::Threads::One) else {
        return false;
    };
    let registered = {
        let _guard = runtime.enter();
        (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        )
    };
    let (Ok(mut int), Ok(mut term)) = registered else {
        return false;
    };
    std::thread::Builder::new()
        .name("taskrun-signals".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                loop {
                    tokio::select! {
                        _ = int.recv() => {}
                        _ = term.recv() => {}
                    }
                    SIGNALS.fetch_add(1, Ordering::SeqCst);
                    NOTIFY.notify_waiters();
                }
            });
        })
        .is_ok()
}
