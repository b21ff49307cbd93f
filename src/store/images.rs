//! Base-image digests and the task → base-image links used by base-image triggers.

use rusqlite::{OptionalExtension, Row, params};

use super::tasks::task_exists;
use super::{BaseImageRecord, DependencyKind, Result, Store, StoreError, fmt_time, parse_time};

/// A `base_images` row as stored, before interpretation.
struct RawImage {
    image: String,
    platform: String,
    digest: String,
    platform_digest: Option<String>,
    checked: String,
}

impl RawImage {
    fn from_row(row: &Row<'_>) -> rusqlite::Result<RawImage> {
        Ok(RawImage {
            image: row.get(0)?,
            platform: row.get(1)?,
            digest: row.get(2)?,
            platform_digest: row.get(3)?,
            checked: row.get(4)?,
        })
    }

    fn into_record(self) -> std::result::Result<BaseImageRecord, String> {
        let checked =
            parse_time(&self.checked).map_err(|e| format!("base image {:?}: {e}", self.image))?;
        Ok(BaseImageRecord {
            image: self.image,
            platform: Some(self.platform).filter(|p| !p.is_empty()),
            digest: self.digest,
            platform_digest: self.platform_digest,
            checked,
        })
    }
}

const IMAGE_COLUMNS: &str = "image, platform, digest, platform_digest, checked";

impl Store {
    /// Records (inserts or replaces) the digest of a base image for its platform. Records are
    /// keyed by `(image, platform)`; `platform: None` is its own key.
    pub fn record_digest(&self, record: &BaseImageRecord) -> Result<()> {
        let conn = self.conn();
        conn.execute(
            &format!(
                "INSERT INTO base_images ({IMAGE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT (image, platform) DO UPDATE SET digest = excluded.digest, \
                 platform_digest = excluded.platform_digest, checked = excluded.checked"
            ),
            params![
                record.image,
                record.platform.as_deref().unwrap_or(""),
                record.digest,
                record.platform_digest,
                fmt_time(&record.checked),
            ],
        )
        .map_err(self.sql(format!("record the digest of {:?}", record.image)))?;
        Ok(())
    }

    /// The recorded digest of `image` for `platform` (`None`: the platform-independent record).
    pub fn get_digest(
        &self,
        image: &str,
        platform: Option<&str>,
    ) -> Result<Option<BaseImageRecord>> {
        let op = format!("read the digest of {image:?}");
        let conn = self.conn();
        let raw = conn
            .query_row(
                &format!(
                    "SELECT {IMAGE_COLUMNS} FROM base_images WHERE image = ?1 AND platform = ?2"
                ),
                params![image, platform.unwrap_or("")],
                RawImage::from_row,
            )
            .optional()
            .map_err(self.sql(op.clone()))?;
        raw.map(|r| r.into_record().map_err(|d| self.corrupt(&op, d)))
            .transpose()
    }

    #[cfg(test)]
    /// Every recorded digest of `image`, one per platform (platform-independent first).
    pub fn digests_of(&self, image: &str) -> Result<Vec<BaseImageRecord>> {
        let op = format!("read the digests of {image:?}");
        let conn = self.conn();
        let raws = conn
            .prepare_cached(&format!(
                "SELECT {IMAGE_COLUMNS} FROM base_images WHERE image = ?1 ORDER BY platform"
            ))
            .and_then(|mut stmt| {
                stmt.query_map([image], RawImage::from_row)?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(self.sql(op.clone()))?;
        raws.into_iter()
            .map(|r| r.into_record().map_err(|d| self.corrupt(&op, d)))
            .collect()
    }

    /// Replaces the base images `task` depends on (after each successful run, from its
    /// dependency report). Duplicates are ignored. [`StoreError::TaskNotFound`] if there is no
    /// such task.
    pub fn set_task_dependencies(
        &self,
        task: &str,
        deps: &[(String, DependencyKind)],
    ) -> Result<()> {
        let op = format!("record the base images of task {task:?}");
        let mut conn = self.conn();
        let tx = self.write_tx(&mut conn, &op)?;
        if !task_exists(&tx, task).map_err(self.sql(op.clone()))? {
            return Err(StoreError::TaskNotFound(task.to_owned()));
        }
        tx.execute("DELETE FROM task_dependencies WHERE task = ?1", [task])
            .map_err(self.sql(op.clone()))?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO task_dependencies (task, image, kind) VALUES (?1, ?2, ?3)",
                )
                .map_err(self.sql(op.clone()))?;
            for (image, kind) in deps {
                stmt.execute(params![task, image, kind.as_str()])
                    .map_err(self.sql(op.clone()))?;
            }
        }
        tx.commit().map_err(self.sql(op))
    }

    #[cfg(test)]
    /// The base images `task` depends on, by image then kind (`Runtime` first).
    pub fn task_dependencies(&self, task: &str) -> Result<Vec<(String, DependencyKind)>> {
        let op = format!("read the base images of task {task:?}");
        let rows = self.pairs(
            "SELECT image, kind FROM task_dependencies WHERE task = ?1 ORDER BY image, kind DESC",
            task,
            &op,
        )?;
        rows.into_iter()
            .map(|(image, kind)| Ok((image, self.parse_kind(&kind, &op)?)))
            .collect()
    }

    #[cfg(test)]
    /// The tasks that depend on `image`, with how, by task then kind (`Runtime` first),
    /// regardless of their trigger settings.
    pub fn tasks_depending_on(&self, image: &str) -> Result<Vec<(String, DependencyKind)>> {
        let op = format!("find the tasks depending on {image:?}");
        let rows = self.pairs(
            "SELECT task, kind FROM task_dependencies WHERE image = ?1 ORDER BY task, kind DESC",
            image,
            &op,
        )?;
        rows.into_iter()
            .map(|(task, kind)| Ok((task, self.parse_kind(&kind, &op)?)))
            .collect()
    }

    /// The tasks whose base-image trigger fires when `image` changes: trigger enabled, and
    /// `image` is their runtime image, or any of their images with trigger type `All`.
    /// Sorted by name.
    pub fn tasks_triggered_by(&self, image: &str) -> Result<Vec<String>> {
        let op = format!("find the tasks triggered by {image:?}");
        let conn = self.conn();
        conn.prepare_cached(
            "SELECT DISTINCT d.task FROM task_dependencies d JOIN tasks t ON t.name = d.task \
             WHERE d.image = ?1 AND t.base_image_trigger_enabled != 0 \
             AND (d.kind = 'Runtime' OR t.base_image_trigger_type = 'All') ORDER BY d.task",
        )
        .and_then(|mut stmt| {
            stmt.query_map([image], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<String>>>()
        })
        .map_err(self.sql(op))
    }

    /// Every image some task depends on, each once, sorted (what `serve` checks per cycle).
    pub fn distinct_tracked_images(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        conn.prepare_cached("SELECT DISTINCT image FROM task_dependencies ORDER BY image")
            .and_then(|mut stmt| {
                stmt.query_map([], |r| r.get(0))?
                    .collect::<rusqlite::Result<Vec<String>>>()
            })
            .map_err(self.sql("list the tracked base images"))
    }

    #[cfg(test)]
    fn pairs(&self, sql: &str, arg: &str, op: &str) -> Result<Vec<(String, String)>> {
        let conn = self.conn();
        conn.prepare_cached(sql)
            .and_then(|mut stmt| {
                stmt.query_map([arg], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map_err(self.sql(op))
    }

    #[cfg(test)]
    fn parse_kind(&self, kind: &str, op: &str) -> Result<DependencyKind> {
        kind.parse()
            .map_err(|e: super::UnknownValue| self.corrupt(op, e.to_string()))
    }
}
