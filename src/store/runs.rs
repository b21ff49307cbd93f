//! Run ids and run history.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::runid::{encode_run_id, registry_key, registry_prefix};
use super::tasks::task_exists;
use super::{
    Result, RunFinish, RunRecord, RunStatus, StepRecord, Store, StoreError, fmt_time, parse_time,
};

const RUN_COLUMNS: &str = "id, task, status, trigger_kind, platform, started, finished, exit_code, \
     steps_json, dependencies_json, commit_sha, branch";

/// Newest first: by start time, then by insertion order.
const NEWEST_FIRST: &str = "ORDER BY started DESC, rowid DESC";

/// A `runs` row as stored, before interpretation.
struct RawRun {
    id: String,
    task: Option<String>,
    status: String,
    trigger: String,
    platform: String,
    started: String,
    finished: Option<String>,
    exit_code: Option<i64>,
    steps_json: String,
    dependencies_json: Option<String>,
    commit: Option<String>,
    branch: Option<String>,
}

impl RawRun {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawRun> {
        Ok(RawRun {
            id: row.get(0)?,
            task: row.get(1)?,
            status: row.get(2)?,
            trigger: row.get(3)?,
            platform: row.get(4)?,
            started: row.get(5)?,
            finished: row.get(6)?,
            exit_code: row.get(7)?,
            steps_json: row.get(8)?,
            dependencies_json: row.get(9)?,
            commit: row.get(10)?,
            branch: row.get(11)?,
        })
    }

    fn into_run(self) -> std::result::Result<RunRecord, String> {
        let id = self.id;
        let ctx = |e: String| format!("run {id:?}: {e}");
        let status = self.status.parse().map_err(|e| ctx(format!("{e}")))?;
        let trigger = self.trigger.parse().map_err(|e| ctx(format!("{e}")))?;
        let started = parse_time(&self.started).map_err(ctx)?;
        let finished = self
            .finished
            .as_deref()
            .map(parse_time)
            .transpose()
            .map_err(ctx)?;
        let steps = serde_json::from_str::<Vec<StepRecord>>(&self.steps_json)
            .map_err(|e| ctx(format!("steps: {e}")))?;
        Ok(RunRecord {
            id: id.clone(),
            task: self.task,
            status,
            trigger,
            platform: self.platform,
            started,
            finished,
            exit_code: self.exit_code,
            steps,
            dependencies_json: self.dependencies_json,
            commit: self.commit,
            branch: self.branch,
        })
    }
}

fn check_dependencies_json(id: &str, json: Option<&str>) -> Result<()> {
    if let Some(json) = json {
        serde_json::from_str::<serde_json::Value>(json).map_err(|e| StoreError::Invalid {
            what: format!("dependency JSON of run {id:?}"),
            reason: e.to_string(),
        })?;
    }
    Ok(())
}

fn steps_json(steps: &[StepRecord]) -> String {
    // Serialising strings and integers cannot fail.
    serde_json::to_string(steps).unwrap_or_else(|_| "[]".to_owned())
}

impl Store {
    /// Allocates the next run id of `registry` (use `""` when there is none); atomic across
    /// threads and processes (`BEGIN IMMEDIATE`). The first registry's ids are `ca1`, `ca2`, …
    /// `ca9`, `caa` … `caz`, `ca10` …; the next registry to ask gets prefix `cb`, and so on
    /// (see [`super::runid`]). The registry name is normalised with [`registry_key`].
    pub fn next_run_id(&self, registry: &str) -> Result<String> {
        let key = registry_key(registry);
        let op = format!("allocate a run id for registry {key:?}");
        let mut conn = self.conn();
        let tx = self.write_tx(&mut conn, &op)?;
        let row: Option<(String, i64)> = tx
            .query_row(
                "SELECT prefix, last_seq FROM run_counters WHERE registry = ?1",
                [&key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(self.sql(op.clone()))?;
        let (prefix, seq) = match row {
            Some((prefix, last)) => {
                let seq = last
                    .checked_add(1)
                    .filter(|s| *s > 0)
                    .ok_or_else(|| self.corrupt(&op, format!("run counter {last}")))?;
                tx.execute(
                    "UPDATE run_counters SET last_seq = ?2 WHERE registry = ?1",
                    params![key, seq],
                )
                .map_err(self.sql(op.clone()))?;
                (prefix, seq)
            }
            None => {
                let count: i64 = tx
                    .query_row("SELECT COUNT(*) FROM run_counters", [], |r| r.get(0))
                    .map_err(self.sql(op.clone()))?;
                let prefix = u64::try_from(count)
                    .ok()
                    .and_then(registry_prefix)
                    .ok_or_else(|| StoreError::RunIdPrefixesExhausted(key.clone()))?;
                tx.execute(
                    "INSERT INTO run_counters (registry, prefix, last_seq) VALUES (?1, ?2, 1)",
                    params![key, prefix],
                )
                .map_err(self.sql(op.clone()))?;
                (prefix, 1)
            }
        };
        tx.commit().map_err(self.sql(op))?;
        Ok(encode_run_id(&prefix, seq.unsigned_abs()))
    }

    /// Records a new run (usually `Queued` or `Running`, from [`RunRecord::new`]).
    /// [`StoreError::RunExists`] if the id is taken, [`StoreError::TaskNotFound`] if `run.task`
    /// names no task, [`StoreError::Invalid`] if `dependencies_json` is not JSON.
    pub fn insert_run(&self, run: &RunRecord) -> Result<()> {
        check_dependencies_json(&run.id, run.dependencies_json.as_deref())?;
        let op = format!("insert run {:?}", run.id);
        let mut conn = self.conn();
        let tx = self.write_tx(&mut conn, &op)?;
        if let Some(task) = &run.task
            && !task_exists(&tx, task).map_err(self.sql(op.clone()))?
        {
            return Err(StoreError::TaskNotFound(task.clone()));
        }
        if self.load_run(&tx, &run.id, &op)?.is_some() {
            return Err(StoreError::RunExists(run.id.clone()));
        }
        tx.execute(
            &format!(
                "INSERT INTO runs ({RUN_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ),
            params![
                run.id,
                run.task,
                run.status.as_str(),
                run.trigger.as_str(),
                run.platform,
                fmt_time(&run.started),
                run.finished.as_ref().map(fmt_time),
                run.exit_code,
                steps_json(&run.steps),
                run.dependencies_json,
                run.commit,
                run.branch,
            ],
        )
        .map_err(self.sql(op.clone()))?;
        tx.commit().map_err(self.sql(op))
    }

    #[cfg(test)]
    /// Changes the status of an unfinished run (e.g. `Queued` → `Running`). Setting a terminal
    /// status this way leaves `finished` empty; prefer [`Store::finish_run`].
    /// [`StoreError::RunAlreadyFinished`] if the run already has a terminal status.
    pub fn set_run_status(&self, id: &str, status: RunStatus) -> Result<()> {
        let op = format!("set the status of run {id:?}");
        let mut conn = self.conn();
        let tx = self.write_tx(&mut conn, &op)?;
        self.unfinished_run(&tx, id, &op)?;
        tx.execute(
            "UPDATE runs SET status = ?2 WHERE id = ?1",
            params![id, status.as_str()],
        )
        .map_err(self.sql(op.clone()))?;
        tx.commit().map_err(self.sql(op))
    }

    /// Records how a run ended and returns the updated record.
    /// [`StoreError::RunAlreadyFinished`] if it had already ended (e.g. canceled meanwhile),
    /// [`StoreError::Invalid`] if `finish.status` is not terminal or the dependency JSON is not
    /// JSON.
    pub fn finish_run(&self, id: &str, finish: &RunFinish) -> Result<RunRecord> {
        if !finish.status.is_terminal() {
            return Err(StoreError::Invalid {
                what: format!("final status of run {id:?}"),
                reason: format!("{} is not a final status", finish.status),
            });
        }
        check_dependencies_json(id, finish.dependencies_json.as_deref())?;
        let op = format!("finish run {id:?}");
        let mut conn = self.conn();
        let tx = self.write_tx(&mut conn, &op)?;
        let mut run = self.unfinished_run(&tx, id, &op)?;
        tx.execute(
            "UPDATE runs SET status = ?2, finished = ?3, exit_code = ?4, steps_json = ?5, \
             dependencies_json = ?6 WHERE id = ?1",
            params![
                id,
                finish.status.as_str(),
                fmt_time(&finish.finished),
                finish.exit_code,
                steps_json(&finish.steps),
                finish.dependencies_json,
            ],
        )
        .map_err(self.sql(op.clone()))?;
        tx.commit().map_err(self.sql(op))?;
        run.status = finish.status;
        run.finished = Some(finish.finished);
        run.exit_code = finish.exit_code;
        run.steps = finish.steps.clone();
        run.dependencies_json = finish.dependencies_json.clone();
        Ok(run)
    }

    /// The run with this id, if any.
    pub fn get_run(&self, id: &str) -> Result<Option<RunRecord>> {
        let conn = self.conn();
        self.load_run(&conn, id, &format!("read run {id:?}"))
    }

    /// Runs, newest first (by start time, then insertion order), of one task or of all
    /// (quick runs included), at most `top` of them.
    pub fn list_runs(&self, task: Option<&str>, top: Option<usize>) -> Result<Vec<RunRecord>> {
        self.list_runs_with(task, None, top)
    }

    /// [`Store::list_runs`] with only the runs of one status (`task list-runs --status`): the
    /// `top` newest runs that have it, as `az acr task list-runs --run-status … --top …`.
    pub fn list_runs_with(
        &self,
        task: Option<&str>,
        status: Option<RunStatus>,
        top: Option<usize>,
    ) -> Result<Vec<RunRecord>> {
        let mut op = match task {
            Some(t) => format!("list the runs of task {t:?}"),
            None => "list runs".to_owned(),
        };
        if let Some(s) = status {
            op.push_str(&format!(" with status {s}"));
        }
        let limit = top.map_or(-1, |n| i64::try_from(n).unwrap_or(i64::MAX));
        // Only the filters given, so SQLite can use the `runs_by_task` index.
        let mut clauses = Vec::new();
        let mut values: Vec<&dyn rusqlite::ToSql> = Vec::new();
        if let Some(task) = &task {
            values.push(task);
            clauses.push(format!("task = ?{}", values.len()));
        }
        let status = status.map(RunStatus::as_str);
        if let Some(status) = &status {
            values.push(status);
            clauses.push(format!("status = ?{}", values.len()));
        }
        values.push(&limit);
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let conn = self.conn();
        self.query_runs(
            &conn,
            &format!("{filter} {NEWEST_FIRST} LIMIT ?{}", values.len()),
            &values,
            &op,
        )
    }

    /// The newest run of `task`, or of all runs when `None`.
    pub fn latest_run(&self, task: Option<&str>) -> Result<Option<RunRecord>> {
        Ok(self.list_runs(task, Some(1))?.into_iter().next())
    }

    /// Whether `task` has at least one run with a final status (any of `Succeeded`, `Failed`,
    /// `Canceled`, `Timeout`, `Error`).
    pub fn has_completed_run(&self, task: &str) -> Result<bool> {
        let conn = self.conn();
        conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM runs WHERE task = ?1 \
             AND status NOT IN ('Queued', 'Running'))",
            [task],
            |r| r.get(0),
        )
        .map_err(self.sql(format!("look for completed runs of task {task:?}")))
    }

    /// Records which taskrun process runs `id` (see [`Store::reap_orphans`]).
    pub fn set_run_owner(&self, id: &str, owner: &str) -> Result<()> {
        let op = format!("record the process of run {id:?}");
        let conn = self.conn();
        conn.execute(
            "INSERT OR REPLACE INTO run_owners (run_id, owner) VALUES (?1, ?2)",
            params![id, owner],
        )
        .map_err(self.sql(op))?;
        Ok(())
    }

    /// The taskrun process recorded as running `id` (an [`owner tag`](crate::exec::resources::owner_tag)),
    /// if any.
    pub fn run_owner(&self, id: &str) -> Result<Option<String>> {
        let conn = self.conn();
        conn.query_row(
            "SELECT owner FROM run_owners WHERE run_id = ?1",
            [id],
            |r| r.get(0),
        )
        .optional()
        .map_err(self.sql(format!("read the process of run {id:?}")))
    }

    /// Finishes, as `Error`, every unfinished run whose process `is_gone` says has ended (it
    /// was killed, or the machine stopped, before it could record the end). Returns their ids.
    /// Runs without a recorded process are left alone.
    pub fn reap_orphans(&self, is_gone: impl Fn(&str) -> bool) -> Result<Vec<String>> {
        let op = "look for runs whose process has ended".to_owned();
        let owned: Vec<(String, String)> = {
            let conn = self.conn();
            conn.prepare_cached(
                "SELECT r.id, o.owner FROM runs r JOIN run_owners o ON o.run_id = r.id \
                 WHERE r.status IN ('Queued', 'Running')",
            )
            .and_then(|mut stmt| {
                stmt.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(self.sql(op))?
        };
        let mut reaped = Vec::new();
        for (id, _) in owned.into_iter().filter(|(_, owner)| is_gone(owner)) {
            let Some(run) = self.get_run(&id)? else {
                continue;
            };
            let finish = RunFinish {
                status: RunStatus::Error,
                finished: super::now(),
                exit_code: None,
                steps: run.steps,
                dependencies_json: run.dependencies_json,
            };
            match self.finish_run(&id, &finish) {
                Ok(_) => reaped.push(id),
                // Finished meanwhile by its own process after all: nothing to do.
                Err(StoreError::RunAlreadyFinished { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(reaped)
    }

    #[cfg(test)]
    /// The newest `Queued` or `Running` run of `task`, if any (to avoid overlapping triggered
    /// runs). A run whose process died stays `Running` until [`Store::reap_orphans`] finishes
    /// it.
    pub fn running_run(&self, task: &str) -> Result<Option<RunRecord>> {
        let op = format!("look for an unfinished run of task {task:?}");
        let conn = self.conn();
        Ok(self
            .query_runs(
                &conn,
                &format!(
                    "WHERE task = ?1 AND status IN ('Queued', 'Running') {NEWEST_FIRST} LIMIT 1"
                ),
                params![task],
                &op,
            )?
            .into_iter()
            .next())
    }

    fn query_runs(
        &self,
        conn: &Connection,
        tail: &str,
        params: &[&dyn rusqlite::ToSql],
        op: &str,
    ) -> Result<Vec<RunRecord>> {
        let raws = conn
            .prepare_cached(&format!("SELECT {RUN_COLUMNS} FROM runs {tail}"))
            .and_then(|mut stmt| {
                stmt.query_map(params, RawRun::from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(self.sql(op))?;
        raws.into_iter()
            .map(|raw| raw.into_run().map_err(|d| self.corrupt(op, d)))
            .collect()
    }

    pub(super) fn load_run(
        &self,
        conn: &Connection,
        id: &str,
        op: &str,
    ) -> Result<Option<RunRecord>> {
        Ok(self
            .query_runs(conn, "WHERE id = ?1", params![id], op)?
            .into_iter()
            .next())
    }

    /// The run, which must exist and not be finished.
    fn unfinished_run(&self, conn: &Connection, id: &str, op: &str) -> Result<RunRecord> {
        let run = self
            .load_run(conn, id, op)?
            .ok_or_else(|| StoreError::RunNotFound(id.to_owned()))?;
        if run.status.is_terminal() {
            return Err(StoreError::RunAlreadyFinished {
                id: id.to_owned(),
                status: run.status,
            });
        }
        Ok(run)
    }
}
