//! Database schema and its migrations, keyed on `PRAGMA user_version`.
//!
//! `MIGRATIONS[i]` takes a database from version `i` to `i + 1`; the current version is
//! `MIGRATIONS.len()`. To add version 2, append a script (`ALTER TABLE …`, new tables, data
//! fixes) — never edit a released one. Scripts run inside one `BEGIN IMMEDIATE` transaction
//! together with the `user_version` bump, so a crash or a concurrent opener never sees half a
//! migration.

/// Version 1: tasks, runs, run logs, per-registry run-id counters, base-image digests,
/// task → base-image links and per-task key/value state.
const V1: &str = r#"
CREATE TABLE tasks (
    name                        TEXT PRIMARY KEY NOT NULL,
    file                        TEXT NOT NULL,
    context                     TEXT,
    values_file                 TEXT,
    set_json                    TEXT NOT NULL DEFAULT '[]',
    set_secret_json             TEXT NOT NULL DEFAULT '[]',
    registry                    TEXT,
    base_image_trigger_enabled  INTEGER NOT NULL,
    base_image_trigger_type     TEXT NOT NULL,
    schedules_json              TEXT NOT NULL DEFAULT '[]',
    commit_trigger_enabled      INTEGER NOT NULL,
    timeout_secs                INTEGER NOT NULL,
    created                     TEXT NOT NULL,
    updated                     TEXT NOT NULL
);

CREATE TABLE run_counters (
    registry  TEXT PRIMARY KEY NOT NULL,
    prefix    TEXT NOT NULL UNIQUE,
    last_seq  INTEGER NOT NULL
);

CREATE TABLE runs (
    id                 TEXT PRIMARY KEY NOT NULL,
    task               TEXT REFERENCES tasks(name) ON DELETE CASCADE,
    status             TEXT NOT NULL,
    trigger_kind       TEXT NOT NULL,
    platform           TEXT NOT NULL,
    started            TEXT NOT NULL,
    finished           TEXT,
    exit_code          INTEGER,
    steps_json         TEXT NOT NULL DEFAULT '[]',
    dependencies_json  TEXT,
    commit_sha         TEXT,
    branch             TEXT
);
CREATE INDEX runs_by_task ON runs(task, started);
CREATE INDEX runs_by_started ON runs(started);
CREATE INDEX runs_by_status ON runs(status);

CREATE TABLE run_logs (
    run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    data    BLOB NOT NULL,
    UNIQUE (run_id, seq)
);

CREATE TABLE base_images (
    image            TEXT NOT NULL,
    platform         TEXT NOT NULL DEFAULT '',
    digest           TEXT NOT NULL,
    platform_digest  TEXT,
    checked          TEXT NOT NULL,
    PRIMARY KEY (image, platform)
);

CREATE TABLE task_dependencies (
    task   TEXT NOT NULL REFERENCES tasks(name) ON DELETE CASCADE,
    image  TEXT NOT NULL,
    kind   TEXT NOT NULL,
    PRIMARY KEY (task, image, kind)
);
CREATE INDEX task_dependencies_by_image ON task_dependencies(image);

CREATE TABLE task_state (
    task         TEXT NOT NULL REFERENCES tasks(name) ON DELETE CASCADE,
    state_key    TEXT NOT NULL,
    state_value  TEXT NOT NULL,
    updated      TEXT NOT NULL,
    PRIMARY KEY (task, state_key)
);
"#;

/// Version 2: the taskrun process running each unfinished run (`<host tag>-<pid>`), so that a
/// run whose process was killed can be told from one still going and marked `Error`.
const V2: &str = r#"
CREATE TABLE run_owners (
    run_id  TEXT PRIMARY KEY NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    owner   TEXT NOT NULL
);
"#;

/// Version 3: a task's git access token (`task create --git-access-token`), kept like its
/// `--set-secret` values: in this column only, never shown.
const V3: &str = r#"
ALTER TABLE tasks ADD COLUMN git_access_token TEXT;
"#;

/// All migrations in order; see the module docs.
pub(super) const MIGRATIONS: &[&str] = &[V1, V2, V3];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;
