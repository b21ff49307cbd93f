//! Named tasks and their key/value trigger state.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::{Result, Store, StoreError, TaskDef, TaskUpdate, fmt_time, now, parse_time};

const TASK_COLUMNS: &str = "name, file, context, values_file, set_json, set_secret_json, registry, \
     base_image_trigger_enabled, base_image_trigger_type, schedules_json, commit_trigger_enabled, \
     timeout_secs, created, updated, git_access_token";

/// A `tasks` row as stored, before interpretation.
struct RawTask {
    name: String,
    file: String,
    context: Option<String>,
    values_file: Option<String>,
    set_json: String,
    set_secret_json: String,
    registry: Option<String>,
    base_image_trigger_enabled: i64,
    base_image_trigger_type: String,
    schedules_json: String,
    commit_trigger_enabled: i64,
    timeout_secs: i64,
    created: String,
    updated: String,
    git_access_token: Option<String>,
}

impl RawTask {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawTask> {
        Ok(RawTask {
            name: row.get(0)?,
            file: row.get(1)?,
            context: row.get(2)?,
            values_file: row.get(3)?,
            set_json: row.get(4)?,
            set_secret_json: row.get(5)?,
            registry: row.get(6)?,
            base_image_trigger_enabled: row.get(7)?,
            base_image_trigger_type: row.get(8)?,
            schedules_json: row.get(9)?,
            commit_trigger_enabled: row.get(10)?,
            timeout_secs: row.get(11)?,
            created: row.get(12)?,
            updated: row.get(13)?,
            git_access_token: row.get(14)?,
        })
    }

    fn into_task(self) -> std::result::Result<TaskDef, String> {
        let name = self.name;
        let ctx = |e: String| format!("task {name:?}: {e}");
        let pairs = |what: &str, json: &str| {
            serde_json::from_str::<Vec<(String, String)>>(json).map_err(|e| format!("{what}: {e}"))
        };
        let set = pairs("set", &self.set_json).map_err(ctx)?;
        let set_secret = pairs("set_secret", &self.set_secret_json).map_err(ctx)?;
        let schedules = serde_json::from_str::<Vec<String>>(&self.schedules_json)
            .map_err(|e| ctx(format!("schedules: {e}")))?;
        let base_image_trigger_type = self
            .base_image_trigger_type
            .parse()
            .map_err(|e| ctx(format!("{e}")))?;
        let timeout_secs = u64::try_from(self.timeout_secs)
            .map_err(|_| ctx(format!("negative timeout {}", self.timeout_secs)))?;
        let created = parse_time(&self.created).map_err(ctx)?;
        let updated = parse_time(&self.updated).map_err(ctx)?;
        Ok(TaskDef {
            name: name.clone(),
            file: self.file,
            context: self.context,
            values_file: self.values_file,
            set,
            set_secret,
            registry: self.registry,
            base_image_trigger_enabled: self.base_image_trigger_enabled != 0,
            base_image_trigger_type,
            schedules,
            commit_trigger_enabled: self.commit_trigger_enabled != 0,
            timeout_secs,
            git_access_token: self.git_access_token,
            created,
            updated,
        })
    }
}

/// Checks everything about a task definition except whether the name is taken.
fn validate_task(task: &TaskDef) -> Result<()> {
    super::validate_task_name(&task.name)?;
    let invalid = |what: &str, reason: &str| {
        Err(StoreError::Invalid {
            what: format!("{what} of task {:?}", task.name),
            reason: reason.to_owned(),
        })
    };
    if task.file.is_empty() {
        return invalid("task file", "it is empty");
    }
    // A task file in a remote context (git, tarball, OCI) is relative to the fetched context.
    let remote = task
        .context
        .as_deref()
        .is_some_and(|c| crate::context::remote::RemoteSource::parse(c).is_some());
    if !Path::new(&task.file).is_absolute() && !remote {
        return invalid("task file", "the path must be absolute");
    }
    if task.timeout_secs == 0 {
        return invalid("timeout", "it must be at least 1 second");
    }
    if i64::try_from(task.timeout_secs).is_err() {
        return invalid("timeout", "it is too large");
    }
    Ok(())
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    // Serialising a Vec of Strings or pairs of Strings cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

impl Store {
    /// Creates a task. The store sets `created` and `updated` to now and returns the stored
    /// definition. Fails with [`StoreError::TaskExists`] if the name is taken, and with
    /// [`StoreError::InvalidTaskName`] / [`StoreError::Invalid`] for a bad name, a relative or
    /// empty file path, or a zero timeout.
    pub fn create_task(&self, task: &TaskDef) -> Result<TaskDef> {
        validate_task(task)?;
        let op = format!("create task {:?}", task.name);
        let mut stored = task.clone();
        stored.created = now();
        stored.updated = stored.created;
        let mut conn = self.conn();
        let tx = self.write_tx(&mut conn, &op)?;
        if self.load_task(&tx, &task.name, &op)?.is_some() {
            return Err(StoreError::TaskExists(task.name.clone()));
        }
        tx.execute(
            &format!(
                "INSERT INTO tasks ({TASK_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
            ),
            params![
                stored.name,
                stored.file,
                stored.context,
                stored.values_file,
                to_json(&stored.set),
                to_json(&stored.set_secret),
                stored.registry,
                stored.base_image_trigger_enabled,
                stored.base_image_trigger_type.as_str(),
                to_json(&stored.schedules),
                stored.commit_trigger_enabled,
                i64::try_from(stored.timeout_secs).unwrap_or(i64::MAX),
                fmt_time(&stored.created),
                fmt_time(&stored.updated),
                stored.git_access_token,
            ],
        )
        .map_err(self.sql(op.clone()))?;
        tx.commit().map_err(self.sql(op))?;
        Ok(stored)
    }

    /// Changes the fields given in `update` (see [`TaskUpdate`]), sets `updated` to now and
    /// returns the new definition. [`StoreError::TaskNotFound`] if there is no such task.
    pub fn update_task(&self, name: &str, update: &TaskUpdate) -> Result<TaskDef> {
        let op = format!("update task {name:?}");
        let mut conn = self.conn();
        let tx = self.write_tx(&mut conn, &op)?;
        let mut task = self
            .load_task(&tx, name, &op)?
            .ok_or_else(|| StoreError::TaskNotFound(name.to_owned()))?;
        update.apply_to(&mut task);
        validate_task(&task)?;
        task.updated = now().max(task.created);
        tx.execute(
            "UPDATE tasks SET file = ?2, context = ?3, values_file = ?4, set_json = ?5, \
             set_secret_json = ?6, registry = ?7, base_image_trigger_enabled = ?8, \
             base_image_trigger_type = ?9, schedules_json = ?10, commit_trigger_enabled = ?11, \
             timeout_secs = ?12, updated = ?13, git_access_token = ?14 WHERE name = ?1",
            params![
                task.name,
                task.file,
                task.context,
                task.values_file,
                to_json(&task.set),
                to_json(&task.set_secret),
                task.registry,
                task.base_image_trigger_enabled,
                task.base_image_trigger_type.as_str(),
                to_json(&task.schedules),
                task.commit_trigger_enabled,
                i64::try_from(task.timeout_secs).unwrap_or(i64::MAX),
                fmt_time(&task.updated),
                task.git_access_token,
            ],
        )
        .map_err(self.sql(op.clone()))?;
        tx.commit().map_err(self.sql(op))?;
        Ok(task)
    }

    /// The task called `name`, if any.
    pub fn get_task(&self, name: &str) -> Result<Option<TaskDef>> {
        let conn = self.conn();
        self.load_task(&conn, name, &format!("read task {name:?}"))
    }

    /// All tasks, by name.
    pub fn list_tasks(&self) -> Result<Vec<TaskDef>> {
        let op = "list tasks";
        let conn = self.conn();
        let mut stmt = conn
            .prepare_cached(&format!("SELECT {TASK_COLUMNS} FROM tasks ORDER BY name"))
            .map_err(self.sql(op))?;
        let raws = stmt
            .query_map([], RawTask::from_row)
            .and_then(|rows| rows.collect::<rusqlite::Result<Vec<_>>>())
            .map_err(self.sql(op))?;
        raws.into_iter()
            .map(|raw| raw.into_task().map_err(|d| self.corrupt(op, d)))
            .collect()
    }

    /// Deletes a task together with its runs, their logs, its base-image links and its trigger
    /// state. [`StoreError::TaskNotFound`] if there is no such task.
    pub fn delete_task(&self, name: &str) -> Result<()> {
        let op = format!("delete task {name:?}");
        let conn = self.conn();
        // One statement: the foreign keys cascade inside its implicit transaction.
        let n = conn
            .execute("DELETE FROM tasks WHERE name = ?1", [name])
            .map_err(self.sql(op))?;
        if n == 0 {
            return Err(StoreError::TaskNotFound(name.to_owned()));
        }
        Ok(())
    }

    /// A value of the task's trigger state (e.g. the last commit seen, the last timer fire).
    pub fn get_task_state(&self, task: &str, key: &str) -> Result<Option<String>> {
        let conn = self.conn();
        conn.query_row(
            "SELECT state_value FROM task_state WHERE task = ?1 AND state_key = ?2",
            [task, key],
            |r| r.get(0),
        )
        .optional()
        .map_err(self.sql(format!("read state {key:?} of task {task:?}")))
    }

    /// Sets a value of the task's trigger state. [`StoreError::TaskNotFound`] if there is no
    /// such task. The state is deleted with the task.
    pub fn set_task_state(&self, task: &str, key: &str, value: &str) -> Result<()> {
        let op = format!("write state {key:?} of task {task:?}");
        let mut conn = self.conn();
        let tx = self.write_tx(&mut conn, &op)?;
        if !task_exists(&tx, task).map_err(self.sql(op.clone()))? {
            return Err(StoreError::TaskNotFound(task.to_owned()));
        }
        tx.execute(
            "INSERT INTO task_state (task, state_key, state_value, updated) \
             VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (task, state_key) DO UPDATE SET state_value = excluded.state_value, \
             updated = excluded.updated",
            params![task, key, value, fmt_time(&now())],
        )
        .map_err(self.sql(op.clone()))?;
        tx.commit().map_err(self.sql(op))
    }

    #[cfg(test)]
    /// Removes a value of the task's trigger state; returns whether it existed.
    pub fn delete_task_state(&self, task: &str, key: &str) -> Result<bool> {
        let conn = self.conn();
        let n = conn
            .execute(
                "DELETE FROM task_state WHERE task = ?1 AND state_key = ?2",
                [task, key],
            )
            .map_err(self.sql(format!("delete state {key:?} of task {task:?}")))?;
        Ok(n > 0)
    }

    pub(super) fn load_task(
        &self,
        conn: &Connection,
        name: &str,
        op: &str,
    ) -> Result<Option<TaskDef>> {
        let raw = conn
            .prepare_cached(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE name = ?1"))
            .and_then(|mut stmt| stmt.query_row([name], RawTask::from_row).optional())
            .map_err(self.sql(op))?;
        raw.map(|raw| raw.into_task().map_err(|d| self.corrupt(op, d)))
            .transpose()
    }
}

/// Whether a task called `name` exists.
pub(super) fn task_exists(conn: &Connection, name: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM tasks WHERE name = ?1)",
        [name],
        |r| r.get(0),
    )
}
