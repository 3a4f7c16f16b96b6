//! Moving a queue row to `dead_letters` with a reason (malformed, poison, or a worker's
//! `dead_letter`). The log's `DeadLetterStore` (`log::dead_letters`) reads them back.

use rusqlite::{Connection, OptionalExtension as _, params};

use crate::error::SqliteError;
use crate::time::now_ns;

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
