//! Run logs, stored as ordered chunks in `run_logs`.

use rusqlite::{Connection, params};

use super::{Result, Store, StoreError};

/// Largest chunk kept in one row; bigger appends are split.
pub const LOG_CHUNK_MAX: usize = 1 << 20;

fn run_exists(conn: &Connection, id: &str) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM runs WHERE id = ?1)",
        [id],
        |r| r.get(0),
    )
}

impl Store {
    /// Appends bytes to a run's log (the caller has masked secrets already). Empty appends do
    /// nothing. [`StoreError::RunNotFound`] if there is no such run.
    pub fn append_log(&self, run_id: &str, data: &[u8]) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        let op = format!("append to the log of run {run_id:?}");
        let mut conn = self.conn();
        let tx = self.write_tx(&mut conn, &op)?;
        if !run_exists(&tx, run_id).map_err(self.sql(op.clone()))? {
            return Err(StoreError::RunNotFound(run_id.to_owned()));
        }
        let last: i64 = tx
            .query_row(
                "SELECT COALESCE(MAX(seq), 0) FROM run_logs WHERE run_id = ?1",
                [run_id],
                |r| r.get(0),
            )
            .map_err(self.sql(op.clone()))?;
        {
            let mut stmt = tx
                .prepare_cached("INSERT INTO run_logs (run_id, seq, data) VALUES (?1, ?2, ?3)")
                .map_err(self.sql(op.clone()))?;
            for (seq, chunk) in (last + 1..).zip(data.chunks(LOG_CHUNK_MAX)) {
                stmt.execute(params![run_id, seq, chunk])
                    .map_err(self.sql(op.clone()))?;
            }
        }
        tx.commit().map_err(self.sql(op))
    }

    /// The whole log of a run (empty if nothing was logged). [`StoreError::RunNotFound`] if
    /// there is no such run.
    pub fn read_log(&self, run_id: &str) -> Result<Vec<u8>> {
        Ok(self.read_log_since(run_id, 0)?.0)
    }

    /// The part of a run's log appended after `cursor` (0 = from the start), and the cursor to
    /// pass next time. Lets `task logs` follow a run that is still writing.
    /// [`StoreError::RunNotFound`] if there is no such run.
    pub fn read_log_since(&self, run_id: &str, cursor: u64) -> Result<(Vec<u8>, u64)> {
        let op = format!("read the log of run {run_id:?}");
        let mut conn = self.conn();
        // A read transaction: the existence check and the chunks come from one snapshot.
        let tx = conn.transaction().map_err(self.sql(op.clone()))?;
        if !run_exists(&tx, run_id).map_err(self.sql(op.clone()))? {
            return Err(StoreError::RunNotFound(run_id.to_owned()));
        }
        let after = i64::try_from(cursor).unwrap_or(i64::MAX);
        let mut out = Vec::new();
        let mut next = cursor;
        {
            let mut stmt = tx
                .prepare_cached(
                    "SELECT seq, data FROM run_logs WHERE run_id = ?1 AND seq > ?2 ORDER BY seq",
                )
                .map_err(self.sql(op.clone()))?;
            let mut rows = stmt
                .query(params![run_id, after])
                .map_err(self.sql(op.clone()))?;
            while let Some(row) = rows.next().map_err(self.sql(op.clone()))? {
                let seq: i64 = row.get(0).map_err(self.sql(op.clone()))?;
                let data = row.get_ref(1).map_err(self.sql(op.clone()))?;
                let bytes = data
                    .as_blob()
                    .map_err(|e| self.corrupt(&op, format!("log chunk {seq}: {e}")))?;
                out.extend_from_slice(bytes);
                next = u64::try_from(seq).unwrap_or(next);
            }
        }
        tx.commit().map_err(self.sql(op))?;
        Ok((out, next))
    }
}
