//! Unique keys in the `unique_keys` table, claimed in the writer's transaction that records
//! the task (so a claim and its record are one commit), and released by their holder only.

use cogman_core::{Claim, Task, TaskId, UniqueKey};
use rusqlite::{Connection, OptionalExtension as _, params};

use super::write::create;
use crate::error::SqliteError;
use crate::time::now_ns;

/// Claims `key` for `task` and records the task, unless a live claim holds the key (then
/// nothing is written and the holder is returned).
pub(crate) fn create_unique(
    conn: &Connection,
    task: &Task,
    key: &UniqueKey,
) -> Result<Claim, SqliteError> {
    let now = now_ns();
    let held: Option<String> = conn
        .prepare_cached(
            "SELECT task_id FROM unique_keys \
             WHERE key = ?1 AND (expires_at IS NULL OR expires_at > ?2)",
        )?
        .query_row(params![key.key, now], |row| row.get(0))
        .optional()?;
    if let Some(holder) = held {
        let by = holder.parse::<TaskId>().map_err(|_| SqliteError::Corrupt {
            id: holder.clone(),
            reason: format!(
                "unique key {:?} names a holder that is not a task id",
                key.key
            ),
        })?;
        return Ok(Claim::Held { by });
    }
    let expires_at = key
        .hold
        .map(|hold| now.saturating_add(crate::time::duration_ns(hold)));
    conn.prepare_cached(
        "INSERT INTO unique_keys (key, task_id, expires_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (key) DO UPDATE SET task_id = excluded.task_id, \
         expires_at = excluded.expires_at",
    )?
    .execute(params![key.key, task.id.to_string(), expires_at])?;
    create(conn, task)?;
    Ok(Claim::Created)
}

/// Drops `holder`'s "until finished" claim of `key`; any other claim stays.
pub(crate) fn release_unique(
    conn: &Connection,
    key: &str,
    holder: TaskId,
) -> Result<(), SqliteError> {
    conn.prepare_cached(
        "DELETE FROM unique_keys WHERE key = ?1 AND task_id = ?2 AND expires_at IS NULL",
    )?
    .execute(params![key, holder.to_string()])?;
    Ok(())
}
