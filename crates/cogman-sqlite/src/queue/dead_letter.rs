//! The dead-letter store: rows moved out of `queue` with a reason (malformed, poison, or a
//! worker's `dead_letter`), and [`SqliteStore::dead_letters`] to read them back.

use chrono::{DateTime, Utc};
use cogman_core::Task;
use rusqlite::{Connection, OptionalExtension as _, params};

use super::codec;
use crate::error::SqliteError;
use crate::store::SqliteStore;
use crate::time::{from_ns, now_ns};

/// A task moved aside because it can never run.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    /// The task id as stored (may be malformed for foreign rows).
    pub task_id: String,
    /// Why it was dead-lettered.
    pub reason: String,
    /// When.
    pub at: DateTime<Utc>,
    /// How many times it had been delivered.
    pub deliveries: u32,
    /// The task, when its row could be decoded.
    pub task: Option<Task>,
}

/// Moves queue row `seq` to the dead letters with `reason`. With `token`, only while that lease
/// holds. Returns the moved row's task id, or `None` when nothing matched.
pub(crate) fn move_row(
    conn: &Connection,
    seq: i64,
    token: Option<i64>,
    reason: &str,
) -> Result<Option<String>, SqliteError> {
    let moved = conn
        .prepare_cached(
            "DELETE FROM queue WHERE seq = ?1 AND (?2 IS NULL OR lease_token = ?2) \
             RETURNING task_id, deliveries, task, payload",
        )?
        .query_row(params![seq, token], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, Vec<u8>>(3)?,
            ))
        })
        .optional()?;
    let Some((task_id, deliveries, task, payload)) = moved else {
        return Ok(None);
    };
    conn.prepare_cached(
        "INSERT INTO dead_letters (task_id, reason, at, deliveries, task, payload) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        task_id,
        reason,
        now_ns(),
        deliveries,
        task,
        payload
    ])?;
    Ok(Some(task_id))
}

impl SqliteStore {
    /// The most recent `limit` dead letters, newest first.
    ///
    /// # Errors
    /// When the file cannot be read.
    pub async fn dead_letters(&self, limit: u32) -> Result<Vec<DeadLetter>, SqliteError> {
        self.reader()
            .run(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT task_id, reason, at, deliveries, task, payload FROM dead_letters \
                     ORDER BY seq DESC LIMIT ?1",
                )?;
                let rows = stmt
                    .query_map([i64::from(limit)], |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, i64>(2)?,
                            row.get::<_, i64>(3)?,
                            row.get::<_, String>(4)?,
                            row.get::<_, Vec<u8>>(5)?,
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows
                    .into_iter()
                    .map(
                        |(task_id, reason, at, deliveries, json, payload)| DeadLetter {
                            task: codec::decode(&task_id, &json, payload).ok(),
                            task_id,
                            reason,
                            at: from_ns(at),
                            deliveries: u32::try_from(deliveries).unwrap_or(u32::MAX),
                        },
                    )
                    .collect())
            })
            .await
    }
}
