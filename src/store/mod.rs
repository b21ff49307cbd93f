//! The embedded store under `$TASKRUN_HOME`: named tasks, run history, run logs, base-image
//! digests, task → base-image links, per-registry run-id counters and per-task trigger state.
//!
//! It is one SQLite database, `$TASKRUN_HOME/taskrun.db` (rusqlite, bundled SQLite), opened with
//! `journal_mode=WAL`, `synchronous=NORMAL`, `busy_timeout=5000` and `foreign_keys=ON`, so a CLI
//! and a running `taskrun serve` can use it at the same time: readers never block, writers queue
//! for up to five seconds, and every read-modify-write runs in a `BEGIN IMMEDIATE` transaction.
//! The schema version lives in `PRAGMA user_version` (see `schema.rs`).
//!
//! Decisions:
//! * Run ids are ACR-style, a two-letter prefix per registry and a base-36 counter (`ca1` … `ca9`,
//!   `caa` … `caz`, `ca10` …); see [`runid`].
//! * Logs are stored in the database as chunks (table `run_logs`, at most 1 MiB a row), not as
//!   files: appends are transactional, a reader sees a consistent prefix while a run is still
//!   writing, and deleting a run or a task removes its logs with no stray files. Callers mask
//!   secrets before [`Store::append_log`].
//! * Deleting a task also deletes its runs, their logs, its base-image links and its trigger
//!   state (ACR keeps nothing of a deleted task either). Digest records of base images are shared
//!   and kept; run-id counters are kept so ids are never reused.
//! * `set_secret` values are stored in the database in clear (they are needed to run the task
//!   again); the store creates its directory with mode 0700 and the database with mode 0600 and
//!   never shows the values in `Debug`. `secure_delete` is on, so deleting or replacing them
//!   overwrites the old bytes in the file.
//! * Times are RFC 3339 UTC strings with microseconds (`2026-01-02T03:04:05.123456Z`), which sort
//!   as text; [`now`] gives a time that survives the round trip unchanged.
//! * Nothing here prints or panics on database contents: a damaged file or an unknown value
//!   gives a [`StoreError`] naming the operation and the database path.
//!
//! A [`Store`] holds one connection behind a mutex, so it is `Send + Sync` and can be shared
//! (e.g. in an `Arc`) by the daemon's tasks. Its methods block; call them from
//! `spawn_blocking` in async code if a busy wait of up to five seconds matters.

mod error;
mod images;
mod logs;
pub mod runid;
mod runs;
mod schema;
mod tasks;
mod types;

#[cfg(test)]
mod tests;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use rusqlite::{Connection, OpenFlags, TransactionBehavior};

pub use error::StoreError;
pub use logs::LOG_CHUNK_MAX;
#[cfg(test)]
pub use runid::parse_run_id;
pub use runid::{encode_run_id, registry_key, registry_prefix};
pub use schema::SCHEMA_VERSION;
pub use types::{
    BaseImageRecord, BaseImageTriggerType, DEFAULT_TIMEOUT_SECS, DependencyKind, RunFinish,
    RunRecord, RunStatus, RunTrigger, StepRecord, TaskDef, TaskUpdate, UnknownValue,
    is_git_context,
};

/// Result type of the store.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// File name of the database inside the home directory.
pub const DB_FILE: &str = "taskrun.db";

/// How long a writer waits for another connection's write transaction.
const BUSY_TIMEOUT: Duration = Duration::from_millis(5000);

/// The taskrun state directory: `$TASKRUN_HOME`, else `$XDG_DATA_HOME/taskrun`, else
/// `~/.local/share/taskrun` (empty variables count as unset; a relative `XDG_DATA_HOME` is
/// ignored, as the XDG spec says). Without any home directory: `./.taskrun`.
pub fn default_home() -> PathBuf {
    home_from(
        std::env::var_os("TASKRUN_HOME"),
        std::env::var_os("XDG_DATA_HOME"),
        std::env::var_os("HOME"),
    )
}

/// [`default_home`] with its inputs given (testable without touching the environment).
fn home_from(
    taskrun_home: Option<OsString>,
    xdg_data_home: Option<OsString>,
    home: Option<OsString>,
) -> PathBuf {
    let set = |v: Option<OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(dir) = set(taskrun_home) {
        return dir;
    }
    if let Some(dir) = set(xdg_data_home).filter(|d| d.is_absolute()) {
        return dir.join("taskrun");
    }
    match set(home) {
        Some(home) => home.join(".local").join("share").join("taskrun"),
        None => PathBuf::from(".taskrun"),
    }
}

/// The current time, truncated to microseconds so that it round-trips through the store.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// Checks a task name: 1 to 50 characters, ASCII letters, digits, `-` and `_`, starting with a
/// letter or digit (`^[A-Za-z0-9][A-Za-z0-9_-]{0,49}$`).
///
/// ACR's own rule is stricter on length (5 to 50); locally shorter names are allowed.
pub fn validate_task_name(name: &str) -> Result<()> {
    let invalid = |reason| {
        Err(StoreError::InvalidTaskName {
            name: name.to_owned(),
            reason,
        })
    };
    let Some(first) = name.chars().next() else {
        return invalid("it is empty");
    };
    if name.len() > 50 {
        return invalid("it is longer than 50 characters");
    }
    if !first.is_ascii_alphanumeric() {
        return invalid("it must start with a letter or a digit");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return invalid("only letters, digits, '-' and '_' are allowed");
    }
    Ok(())
}

/// A handle on the store. See the module documentation.
#[derive(Debug)]
pub struct Store {
    home: PathBuf,
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating as needed) `home/taskrun.db`, applies the connection settings and brings
    /// the schema up to [`SCHEMA_VERSION`]. Opening an up-to-date store writes nothing.
    ///
    /// Fails with [`StoreError::SchemaTooNew`] for a database written by a newer taskrun, and
    /// with [`StoreError::Sqlite`] for a file that is not a database.
    pub fn open(home: &Path) -> Result<Store> {
        create_private_dir(home)?;
        let path = home.join(DB_FILE);
        create_private_file(&path)?;
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|error| StoreError::Sqlite {
            op: "open the database".into(),
            path: path.clone(),
            error,
        })?;
        let store = Store {
            home: home.to_path_buf(),
            path,
            conn: Mutex::new(conn),
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    /// The home directory the store lives in.
    pub fn home(&self) -> &Path {
        &self.home
    }

    #[cfg(test)]
    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    #[cfg(test)]
    /// The schema version of the open database (`PRAGMA user_version`).
    pub fn schema_version(&self) -> Result<i64> {
        let conn = self.conn();
        conn.pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(self.sql("read the schema version"))
    }

    fn configure(&self) -> Result<()> {
        let conn = self.conn();
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(self.sql("set busy_timeout"))?;
        // Switching a fresh file to WAL needs a moment of exclusive access; another process
        // opening the same new store at the same time can make it report SQLITE_BUSY even
        // with a busy timeout, so retry for about as long as the timeout.
        let mut attempts = 0;
        loop {
            let r = conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0));
            match r {
                Ok(_) => break,
                Err(e) if is_busy(&e) && attempts < 100 => {
                    attempts += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(self.sql("set journal_mode=WAL")(e)),
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(self.sql("set synchronous=NORMAL"))?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(self.sql("set foreign_keys=ON"))?;
        // Deleted rows (a deleted task's `--set-secret` values, replaced ones) are overwritten
        // with zeros instead of lingering in free pages of the file.
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(self.sql("set secure_delete=ON"))?;
        Ok(())
    }

    fn migrate(&self) -> Result<()> {
        let mut conn = self.conn();
        let read_version = |conn: &Connection| -> Result<i64> {
            conn.pragma_query_value(None, "user_version", |r| r.get(0))
                .map_err(self.sql("read the schema version"))
        };
        let version = read_version(&conn)?;
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        self.check_version(version)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.sql("begin the schema migration"))?;
        // Another process may have migrated between the read above and our write lock.
        let version = read_version(&tx)?;
        self.check_version(version)?;
        let from = usize::try_from(version).unwrap_or(0);
        for (i, script) in schema::MIGRATIONS.iter().enumerate().skip(from) {
            tx.execute_batch(script)
                .map_err(self.sql(format!("migrate the schema to version {}", i + 1)))?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(self.sql("record the schema version"))?;
        tx.commit().map_err(self.sql("commit the schema migration"))
    }

    fn check_version(&self, version: i64) -> Result<()> {
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                path: self.path.clone(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version < 0 {
            return Err(self.corrupt(
                "read the schema version",
                format!("negative user_version {version}"),
            ));
        }
        Ok(())
    }

    /// The connection; a panic in another thread holding it does not make the store unusable
    /// (SQLite rolls back any transaction that was open).
    fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Maps a rusqlite error to [`StoreError::Sqlite`] for operation `op`.
    fn sql(&self, op: impl Into<String>) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
        let op = op.into();
        move |error| StoreError::Sqlite {
            op,
            path: self.path.clone(),
            error,
        }
    }

    /// A [`StoreError::Corrupt`] for operation `op`.
    fn corrupt(&self, op: impl Into<String>, detail: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            op: op.into(),
            path: self.path.clone(),
            detail: detail.into(),
        }
    }

    /// Begins a `BEGIN IMMEDIATE` transaction (takes the write lock up front, so it never fails
    /// half-way with SQLITE_BUSY on upgrade).
    fn write_tx<'c>(
        &self,
        conn: &'c mut Connection,
        op: &str,
    ) -> Result<rusqlite::Transaction<'c>> {
        conn.transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(self.sql(format!("begin a transaction to {op}")))
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// Time as stored: RFC 3339, UTC, microseconds, `Z`.
fn fmt_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Parses a stored time.
fn parse_time(s: &str) -> std::result::Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("bad time {s:?}: {e}"))
}

fn create_private_dir(dir: &Path) -> Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|error| StoreError::Io {
        op: "create the store directory",
        path: dir.to_path_buf(),
        error,
    })
}

/// Creates the database file with mode 0600 if it does not exist (SQLite gives its `-wal` and
/// `-shm` files the same mode).
fn create_private_file(path: &Path) -> Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(StoreError::Io {
            op: "create the database file",
            path: path.to_path_buf(),
            error,
        }),
    }
}
