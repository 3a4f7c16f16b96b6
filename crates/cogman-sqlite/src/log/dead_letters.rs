//! The [`DeadLetterStore`] ability over the `dead_letters` table. Rows the embedded queue moved
//! aside (`entry` NULL) are read from their columns: the task id, the task when its row decodes,
//! the payload, the reason, the time and the delivery count (as the `x-cogman-deliveries`
//! header). Entries stored through the ability keep their whole JSON in `entry`, with their
//! idempotency key in `dedupe_key`. The id of an entry is the row's `seq`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use cogman_core::dead_letters::page_of;
use cogman_core::{DeadLetter, DeadLetterPage, DeadLetterStore, NewDeadLetter, TaskLogError};
use rusqlite::{OptionalExtension as _, Row, params};

use crate::error::SqliteError;
use crate::queue::codec;
use crate::store::SqliteStore;
use crate::time::{from_ns, to_ns};

const COLUMNS: &str = "seq, task_id, reason, at, deliveries, task, payload, entry";

/// One row as stored.
struct StoredRow {
    seq: i64,
    task_id: String,
    reason: String,
    at: i64,
    deliveries: i64,
    task: String,
    payload: Vec<u8>,
    entry: Option<String>,
}

fn stored_row(row: &Row<'_>) -> rusqlite::Result<StoredRow> {
    Ok(StoredRow {
        seq: row.get(0)?,
        task_id: row.get(1)?,
        reason: row.get(2)?,
        at: row.get(3)?,
        deliveries: row.get(4)?,
        task: row.get(5)?,
        payload: row.get(6)?,
        entry: row.get(7)?,
    })
}

fn dead_letter(row: StoredRow) -> Result<DeadLetter, SqliteError> {
    let id = u64::try_from(row.seq).unwrap_or_default();
    if let Some(json) = row.entry {
        let entry = serde_json::from_str(&json).map_err(|e| SqliteError::Corrupt {
            id: format!("dead letter {id}"),
            reason: e.to_string(),
        })?;
        return Ok(DeadLetter { id, entry });
    }
    Ok(DeadLetter {
        id,
        entry: entry_of_columns(row),
    })
}

/// The entry of a row the embedded queue moved aside, read from its columns.
fn entry_of_columns(row: StoredRow) -> NewDeadLetter {
    let task = codec::decode(&row.task_id, &row.task, row.payload.clone()).ok();
    NewDeadLetter {
        key: None,
        task_id: row.task_id.parse().ok(),
        name: task.as_ref().map(|t| t.name.clone()),
        queue: task.as_ref().map(|t| t.queue.clone()),
        task,
        reason: row.reason,
        dead_lettered_at: from_ns(row.at),
        headers: BTreeMap::from([("x-cogman-deliveries".to_owned(), row.deliveries.to_string())]),
        body: row.payload,
    }
}

/// The oldest row, as the entry to store in another task log, with its `seq` (see
/// `queue::hand_over`). Its key is the row's own, else one made of the row's task id, `seq`
/// and time (unique to this row), so that storing it twice stores it once. A row whose stored
/// JSON no longer reads is handed over from its columns rather than blocking the rest.
pub(crate) fn oldest_to_hand_over(
    conn: &rusqlite::Connection,
) -> Result<Option<(i64, NewDeadLetter)>, SqliteError> {
    let row = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM dead_letters ORDER BY seq LIMIT 1"
        ))?
        .query_row([], stored_row)
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    let (seq, key) = (
        row.seq,
        format!("sqlite:{}:{}:{}", row.task_id, row.seq, row.at),
    );
    let stored = row
        .entry
        .as_deref()
        .and_then(|json| serde_json::from_str::<NewDeadLetter>(json).ok());
    let mut entry = match stored {
        Some(entry) => entry,
        None => entry_of_columns(row),
    };
    entry.key.get_or_insert(key);
    Ok(Some((seq, entry)))
}

/// Deletes row `seq` (a second delete of a handed-over row deletes nothing).
pub(crate) fn delete(conn: &rusqlite::Connection, seq: i64) -> Result<usize, SqliteError> {
    Ok(conn
        .prepare_cached("DELETE FROM dead_letters WHERE seq = ?1")?
        .execute([seq])?)
}

fn seq_of(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

#[async_trait]
impl DeadLetterStore for SqliteStore {
    async fn add_dead_letter(&self, entry: &NewDeadLetter) -> Result<u64, TaskLogError> {
        let json = serde_json::to_string(entry).map_err(|source| SqliteError::Encode {
            what: "dead letter",
            source,
        })?;
        let key = entry.key.clone();
        let task_id = entry.task_id.map(|id| id.to_string()).unwrap_or_default();
        let (reason, at) = (entry.reason.clone(), to_ns(entry.dead_lettered_at));
        let seq = self
            .writer()
            .run(move |conn| {
                if let Some(key) = &key {
                    let known: Option<i64> = conn
                        .prepare_cached("SELECT seq FROM dead_letters WHERE dedupe_key = ?1")?
                        .query_row([key], |row| row.get(0))
                        .optional()?;
                    if let Some(seq) = known {
                        return Ok(seq);
                    }
                }
                let seq = conn
                    .prepare_cached(
                        "INSERT INTO dead_letters \
                         (task_id, reason, at, deliveries, task, payload, dedupe_key, entry) \
                         VALUES (?1, ?2, ?3, 0, '', X'', ?4, ?5) RETURNING seq",
                    )?
                    .query_row(params![task_id, reason, at, key, json], |row| row.get(0))?;
                Ok(seq)
            })
            .await?;
        Ok(u64::try_from(seq).unwrap_or_default())
    }

    async fn dead_letters(
        &self,
        before: Option<u64>,
        limit: u32,
    ) -> Result<DeadLetterPage, TaskLogError> {
        let before = before.map_or(i64::MAX, seq_of);
        let rows = self
            .reader()
            .run(move |conn| {
                let mut stmt = conn.prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM dead_letters WHERE seq < ?1 ORDER BY seq DESC LIMIT ?2"
                ))?;
                let rows = stmt
                    .query_map(params![before, i64::from(limit) + 1], stored_row)?
                    .collect::<Result<Vec<_>, _>>()?;
                rows.into_iter()
                    .map(dead_letter)
                    .collect::<Result<Vec<_>, _>>()
            })
            .await?;
        Ok(page_of(rows, limit))
    }

    async fn dead_letter(&self, id: u64) -> Result<Option<DeadLetter>, TaskLogError> {
        let seq = seq_of(id);
        let found = self
            .reader()
            .run(move |conn| {
                let row = conn
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM dead_letters WHERE seq = ?1"
                    ))?
                    .query_row([seq], stored_row)
                    .optional()?;
                row.map(dead_letter).transpose()
            })
            .await?;
        Ok(found)
    }

    async fn remove_dead_letter(&self, id: u64) -> Result<bool, TaskLogError> {
        let seq = seq_of(id);
        let removed = self.writer().run(move |conn| delete(conn, seq)).await?;
        Ok(removed > 0)
    }

    async fn purge_dead_letters(&self) -> Result<u64, TaskLogError> {
        let removed = self
            .writer()
            .run(|conn| Ok(conn.execute("DELETE FROM dead_letters", [])?))
            .await?;
        Ok(removed as u64)
    }
}
