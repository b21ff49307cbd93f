//! The store's error type. Database and file-system errors name the operation and the database
//! path; errors about the caller's input name the offending value.

use std::io;
use std::path::PathBuf;

use super::types::RunStatus;

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A file-system operation on the store's home failed.
    #[error("cannot {op} '{}': {error}", path.display())]
    Io {
        /// What was being done, e.g. `create the store directory`.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        error: io::Error,
    },
    /// SQLite reported an error (includes "file is not a database" for a corrupt file).
    #[error("store '{}': cannot {op}: {error}", path.display())]
    Sqlite {
        /// What was being done, e.g. `insert run ca1`.
        op: String,
        /// The database file.
        path: PathBuf,
        /// The underlying error.
        error: rusqlite::Error,
    },
    /// A row holds a value this version cannot interpret (edited or damaged database).
    #[error("store '{}': cannot {op}: corrupt data: {detail}", path.display())]
    Corrupt {
        /// What was being done.
        op: String,
        /// The database file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// The database was written by a newer taskrun.
    #[error(
        "store '{}' has schema version {found}, newer than version {supported} that this taskrun \
         understands; upgrade taskrun or use another TASKRUN_HOME",
        path.display()
    )]
    SchemaTooNew {
        /// The database file.
        path: PathBuf,
        /// `PRAGMA user_version` found in the file.
        found: i64,
        /// The newest version this build knows.
        supported: i64,
    },
    /// A task name does not follow the naming rules (see [`super::validate_task_name`]).
    #[error("invalid task name {name:?}: {reason}")]
    InvalidTaskName {
        /// The rejected name.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// Some other input is unacceptable (relative task file, bad dependency JSON, ...).
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// Which input.
        what: String,
        /// Why.
        reason: String,
    },
    /// `create_task` with a name that is taken.
    #[error("task {0:?} already exists")]
    TaskExists(String),
    /// The named task does not exist.
    #[error("task {0:?} does not exist")]
    TaskNotFound(String),
    /// `insert_run` with an id that is taken.
    #[error("run {0:?} already exists")]
    RunExists(String),
    /// The run does not exist.
    #[error("run {0:?} does not exist")]
    RunNotFound(String),
    /// `finish_run`/`set_run_status` on a run that already reached a final status.
    #[error("run {id:?} has already finished with status {status}")]
    RunAlreadyFinished {
        /// The run id.
        id: String,
        /// Its final status.
        status: RunStatus,
    },
    /// Every two-letter run-id prefix (`ca` … `zz`) is taken by another registry.
    #[error("no run-id prefix left for registry {0:?}: the store already tracks 624 registries")]
    RunIdPrefixesExhausted(String),
}

impl From<StoreError> for crate::diag::Problem {
    /// A store failure as a diagnostic of a `task` command: a missing run has its own code;
    /// everything else is reported against the command's flags.
    fn from(e: StoreError) -> Self {
        use crate::diag::{Code, Problem};
        match e {
            StoreError::RunNotFound(_) => Problem::error(Code::RunNotFound, e.to_string())
                .with_help("`taskrun task list-runs` lists the recorded runs and their ids"),
            e => Problem::error(Code::FlagFormat, e.to_string())
                .with_help("see `taskrun task --help`"),
        }
    }
}
