//! The process's signal watcher, for the work done outside a run's own signal handler: the
//! fetch of a remote CONTEXT and the checks between the fetch and the run, and `serve`'s loop.
//! A leaf module.
//!
//! Two kinds of signal are told apart:
//! - a **stop** (Ctrl-C, SIGTERM): the user, or the system, stops taskrun;
//! - a **cancel request** ([`CANCEL`], SIGUSR1): `task cancel-run` cancels the run this process
//!   is running, and nothing else (`serve` goes on with its next run).
//!
//! Once tokio has registered a handler for a signal, the signal no longer ends the process by
//! default, also after that runtime is gone. So one watcher serves the whole process (a thread
//! with its own small runtime, started by the first [`Mark::now`]) and counts the signals it
//! sees; work takes a [`Mark`] when it starts and asks it later, or awaits it. A run's own
//! handler (`ops::run`) still sees every signal: tokio delivers each one to all its listeners.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Notify;

/// The signal `task cancel-run` sends to the process running a run: it cancels that run, as
/// Ctrl-C does, but never stops `serve`.
pub const CANCEL: i32 = libc::SIGUSR1;

static STOPS: AtomicU64 = AtomicU64::new(0);
static CANCELS: AtomicU64 = AtomicU64::new(0);
static NOTIFY: Notify = Notify::const_new();
static WATCHER: OnceLock<bool> = OnceLock::new();

/// The signals seen up to a point in time.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    stops: u64,
    cancels: u64,
}

impl Mark {
    /// Starts the process's watcher (once; its handlers are registered before this returns)
    /// and marks now.
    pub fn now() -> Self {
        WATCHER.get_or_init(start_watcher);
        Mark {
            stops: STOPS.load(Ordering::SeqCst),
            cancels: CANCELS.load(Ordering::SeqCst),
        }
    }

    /// Whether Ctrl-C or SIGTERM came since the mark.
    pub fn stopped(self) -> bool {
        STOPS.load(Ordering::SeqCst) != self.stops
    }

    /// Whether Ctrl-C, SIGTERM or a cancel request came since the mark: the run being prepared
    /// is to stop.
    pub fn interrupted(self) -> bool {
        self.stopped() || CANCELS.load(Ordering::SeqCst) != self.cancels
    }

    /// Returns when [`Mark::interrupted`] (at once if it already is).
    pub async fn wait(self) {
        Self::until(|| self.interrupted()).await;
    }

    /// Returns when [`Mark::stopped`] (at once if it already is).
    pub async fn wait_stopped(self) {
        Self::until(|| self.stopped()).await;
    }

    async fn until(done: impl Fn() -> bool) {
        loop {
            let notified = NOTIFY.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if done() {
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
            signal(SignalKind::from_raw(CANCEL)),
        )
    };
    let (Ok(mut int), Ok(mut term), Ok(mut cancel)) = registered else {
        return false;
    };
    std::thread::Builder::new()
        .name("taskrun-signals".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                loop {
                    let counter = tokio::select! {
                        _ = int.recv() => &STOPS,
                        _ = term.recv() => &STOPS,
                        _ = cancel.recv() => &CANCELS,
                    };
                    counter.fetch_add(1, Ordering::SeqCst);
                    NOTIFY.notify_waiters();
                }
            });
        })
        .is_ok()
}
