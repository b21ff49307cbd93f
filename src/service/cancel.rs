//! `taskrun task cancel-run`: stops a run that another taskrun process (`task run`, `serve`)
//! is running, as `az acr task cancel-run` does.
//!
//! The store records the process that runs each named-task run (its owner tag, see
//! `exec::resources::owner_tag`). Canceling sends that process a cancel request
//! (`signals::CANCEL`, SIGUSR1), which cancels the run like Ctrl-C (but never stops `serve`,
//! which goes on with its next run): running steps are stopped, everything the run created is
//! removed, and the owner records the run as `Canceled`. This waits for that. When there is no process to signal (none
//! recorded, or it has ended), or it does not finish the run in time, the store is told
//! `Canceled` here. The signal is only sent once the owner catches it (`SigCgt` in
//! `/proc/PID/status`: it does from the moment the run starts executing), so a process still
//! preparing the run is never killed by it, and again every two seconds while the run is still
//! running; a taskrun process that already got one ignores the next.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::exec::resources::local_owner_pid;
use crate::store::{RunFinish, RunRecord, RunStatus, Store, StoreError, now};

/// How often the store is read while waiting for the owner.
const POLL: Duration = Duration::from_millis(100);

/// How often the cancel request is sent again while the run is still running.
const RESIGNAL: Duration = Duration::from_secs(2);

/// How [`cancel_run`] ended the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelHow {
    /// The owning process stopped the run and recorded its end (normally `Canceled`; another
    /// status if the run ended by itself just before).
    ByOwner,
    /// No process was recorded for the run; the store was told `Canceled`.
    NoOwner,
    /// The owning process had ended; the store was told `Canceled`.
    OwnerGone,
    /// The owning process did not finish the run within the wait; the store was told
    /// `Canceled` (the process may still be cleaning up).
    NotInTime {
        /// The owner's pid.
        pid: u32,
    },
}

/// The run after [`cancel_run`].
#[derive(Debug, Clone)]
pub struct Canceled {
    /// The run as the store has it now.
    pub run: RunRecord,
    /// How it ended.
    pub how: CancelHow,
}

impl Canceled {
    /// What `task cancel-run` says about it.
    pub fn describe(&self) -> String {
        let id = &self.run.id;
        let status = self.run.status;
        match self.how {
            CancelHow::ByOwner if status == RunStatus::Canceled => {
                format!("Run {id} was canceled")
            }
            CancelHow::ByOwner => {
                format!("Run {id} finished with status {status} before it could be canceled")
            }
            CancelHow::NoOwner => {
                format!("Run {id} was canceled (no taskrun process was running it)")
            }
            CancelHow::OwnerGone => {
                format!("Run {id} was canceled (the taskrun process running it had ended)")
            }
            CancelHow::NotInTime { pid } => format!(
                "Run {id} is marked Canceled; taskrun process {pid} has not finished it yet \
                 (it may still be removing the run's containers)"
            ),
        }
    }
}

/// Why a run could not be canceled.
#[derive(Debug, thiserror::Error)]
pub enum CancelError {
    /// The store failed, or has no such run ([`StoreError::RunNotFound`]).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The run is over.
    #[error("run {id:?} is not running: it finished with status {status}")]
    NotRunning {
        /// The run id.
        id: String,
        /// Its final status.
        status: RunStatus,
    },
    /// The run's process is on another host (a shared `TASKRUN_HOME`): it cannot be signalled.
    #[error("run {id:?} is run by taskrun process {owner} on another host; cancel it there")]
    OtherHost {
        /// The run id.
        id: String,
        /// The owner tag.
        owner: String,
    },
    /// The owner could not be signalled (another user's process).
    #[error("cannot signal taskrun process {pid}, which runs run {id:?}: {error}")]
    Signal {
        /// The run id.
        id: String,
        /// The owner's pid.
        pid: u32,
        /// What kill(2) said.
        error: std::io::Error,
    },
}

/// Cancels run `id`, waiting up to `wait` for its process to stop it and record the end.
pub fn cancel_run(store: &Store, id: &str, wait: Duration) -> Result<Canceled, CancelError> {
    let run = unfinished(store, id)?;
    let Some(owner) = store.run_owner(id)? else {
        return mark_canceled(store, run, CancelHow::NoOwner);
    };
    let Some(pid) = local_owner_pid(&owner) else {
        return Err(CancelError::OtherHost {
            id: id.to_owned(),
            owner,
        });
    };
    if !is_taskrun_process(pid) {
        return mark_canceled(store, run, CancelHow::OwnerGone);
    }
    let deadline = Instant::now() + wait;
    let mut signalled: Option<Instant> = None;
    loop {
        let run = store
            .get_run(id)?
            .ok_or_else(|| StoreError::RunNotFound(id.to_owned()))?;
        if run.status.is_terminal() {
            return Ok(Canceled {
                run,
                how: CancelHow::ByOwner,
            });
        }
        if !is_taskrun_process(pid) {
            return mark_canceled(store, run, CancelHow::OwnerGone);
        }
        if Instant::now() >= deadline {
            return mark_canceled(store, run, CancelHow::NotInTime { pid });
        }
        // Only once the owner catches the signal (it does while a run executes): before that,
        // it would end the whole process (`serve` too) instead of canceling the run.
        if signalled.is_none_or(|t| t.elapsed() >= RESIGNAL) && catches_cancel(pid) {
            if !request_cancel(id, pid)? {
                return mark_canceled(store, run, CancelHow::OwnerGone);
            }
            signalled = Some(Instant::now());
        }
        std::thread::sleep(POLL);
    }
}

/// Whether `pid` has a handler for the cancel request (`SigCgt` of `/proc/PID/status`).
fn catches_cancel(pid: u32) -> bool {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (crate::signals::CANCEL - 1)) != 0)
}

/// The run, which must exist and be `Queued` or `Running`.
fn unfinished(store: &Store, id: &str) -> Result<RunRecord, CancelError> {
    let run = store
        .get_run(id)?
        .ok_or_else(|| StoreError::RunNotFound(id.to_owned()))?;
    if run.status.is_terminal() {
        return Err(CancelError::NotRunning {
            id: id.to_owned(),
            status: run.status,
        });
    }
    Ok(run)
}

/// Records the run as `Canceled` (its steps and dependencies as they were). If it finished
/// meanwhile, that end stands.
fn mark_canceled(store: &Store, run: RunRecord, how: CancelHow) -> Result<Canceled, CancelError> {
    let finish = RunFinish {
        status: RunStatus::Canceled,
        finished: now(),
        exit_code: None,
        steps: run.steps.clone(),
        dependencies_json: run.dependencies_json.clone(),
    };
    match store.finish_run(&run.id, &finish) {
        Ok(run) => Ok(Canceled { run, how }),
        Err(StoreError::RunAlreadyFinished { .. }) => Ok(Canceled {
            run: store.get_run(&run.id)?.unwrap_or(run),
            how: CancelHow::ByOwner,
        }),
        Err(e) => Err(e.into()),
    }
}

/// Whether `pid` is a live taskrun process: its program is taskrun (by name, or this very
/// binary). A pid reused by another program is never signalled.
fn is_taskrun_process(pid: u32) -> bool {
    // The canceling process never owns the run.
    if pid == std::process::id() {
        return false;
    }
    let proc = Path::new("/proc").join(pid.to_string());
    let named_taskrun = std::fs::read(proc.join("cmdline")).is_ok_and(|cmdline| {
        let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        let argv0 = String::from_utf8_lossy(argv0);
        Path::new(argv0.as_ref())
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("taskrun"))
    });
    named_taskrun
        || std::fs::read_link(proc.join("exe"))
            .ok()
            .zip(std::env::current_exe().ok())
            .is_some_and(|(theirs, ours)| theirs == ours)
}

/// Sends the cancel request to `pid`; `false` when the process is gone.
fn request_cancel(id: &str, pid: u32) -> Result<bool, CancelError> {
    let Ok(raw) = i32::try_from(pid) else {
        return Ok(false);
    };
    if raw <= 0 || pid == std::process::id() {
        return Ok(false);
    }
    // SAFETY: kill(2) on a positive pid sends a signal; it touches no memory.
    let r = unsafe { libc::kill(raw, crate::signals::CANCEL) };
    if r == 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::ESRCH) {
        return Ok(false);
    }
    Err(CancelError::Signal {
        id: id.to_owned(),
        pid,
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RunTrigger, TaskDef};

    fn store_with_run(dir: &Path, owner: Option<&str>) -> Store {
        let store = Store::open(dir).expect("open");
        store
            .create_task(&TaskDef::new("t", "/src/t/acr-task.yaml", None))
            .expect("task");
        let mut run = RunRecord::new("ca1", Some("t".into()), RunTrigger::Manual, "linux");
        run.status = RunStatus::Running;
        store.insert_run(&run).expect("run");
        if let Some(o) = owner {
            store.set_run_owner("ca1", o).expect("owner");
        }
        store
    }

    #[test]
    fn unknown_and_finished_runs_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with_run(dir.path(), None);
        assert!(matches!(
            cancel_run(&store, "nope", Duration::ZERO),
            Err(CancelError::Store(StoreError::RunNotFound(_)))
        ));
        cancel_run(&store, "ca1", Duration::ZERO).expect("cancel");
        let e = cancel_run(&store, "ca1", Duration::ZERO).expect_err("finished");
        assert_eq!(
            e.to_string(),
            "run \"ca1\" is not running: it finished with status Canceled"
        );
    }

    #[test]
    fn a_run_without_a_process_is_marked_canceled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with_run(dir.path(), None);
        let c = cancel_run(&store, "ca1", Duration::ZERO).expect("cancel");
        assert_eq!(c.how, CancelHow::NoOwner);
        assert_eq!(c.run.status, RunStatus::Canceled);
        assert!(c.run.finished.is_some());
        assert_eq!(
            store.get_run("ca1").expect("read").expect("run").status,
            RunStatus::Canceled
        );
    }

    #[test]
    fn a_run_whose_process_is_gone_is_marked_canceled() {
        let dir = tempfile::tempdir().expect("tempdir");
        let gone = crate::exec::resources::owner_tag()
            .rsplit_once('-')
            .map(|(host, _)| format!("{host}-{}", u32::MAX - 1))
            .expect("tag");
        let store = store_with_run(dir.path(), Some(&gone));
        let c = cancel_run(&store, "ca1", Duration::ZERO).expect("cancel");
        assert_eq!(c.how, CancelHow::OwnerGone);
        assert_eq!(c.run.status, RunStatus::Canceled);
    }

    #[test]
    fn the_canceling_process_never_signals_itself() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with_run(dir.path(), Some(&crate::exec::resources::owner_tag()));
        let c = cancel_run(&store, "ca1", Duration::ZERO).expect("cancel");
        assert_eq!(c.how, CancelHow::OwnerGone);
        assert_eq!(c.run.status, RunStatus::Canceled);
    }

    #[test]
    fn the_caught_cancel_signal_is_read_from_proc() {
        // No such processes.
        assert!(!catches_cancel(0));
        assert!(!catches_cancel(u32::MAX - 1));
        // pid 1 of a system (or container) is readable; whatever it catches, no panic.
        let _ = catches_cancel(1);
    }

    #[test]
    fn a_run_on_another_host_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = store_with_run(dir.path(), Some("zzzz-42"));
        assert!(matches!(
            cancel_run(&store, "ca1", Duration::ZERO),
            Err(CancelError::OtherHost { .. })
        ));
        assert_eq!(
            store.get_run("ca1").expect("read").expect("run").status,
            RunStatus::Running
        );
    }
}
