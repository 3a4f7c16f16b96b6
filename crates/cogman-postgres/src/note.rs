//! History notes ([`TaskLog::note`](cogman_core::TaskLog::note)): one statement appends the
//! note to `task_events` with the task's current status, unless the task has no row or already
//! holds its share of notes. Changes this process holds back are flushed first, so the note
//! follows them in the history.

use chrono::{DateTime, Utc};
use cogman_core::{HistoryNote, NoteOutcome, TaskLogError};
use sqlx_core::row::Row as _;

use crate::db::Db;
use crate::error::retry;
use crate::row::other;

/// Appends `note`; see the module documentation.
pub(crate) async fn note(db: &Db, note: &HistoryNote) -> Result<NoteOutcome, TaskLogError> {
    const SQL: &str = "WITH task AS (SELECT id, status FROM tasks WHERE id = $1), \
         held AS (SELECT count(*) AS n FROM task_events WHERE task_id = $1 AND note IS NOT NULL), \
         added AS (INSERT INTO task_events (task_id, status, at, worker, note) \
                   SELECT task.id, task.status, $2, $3, $4 FROM task, held WHERE held.n < $5 \
                   RETURNING 1) \
         SELECT (SELECT count(*) FROM task) AS found, (SELECT count(*) FROM added) AS added";
    let pool = db.pool().await?;
    let limit = i64::try_from(HistoryNote::MAX_PER_TASK).unwrap_or(i64::MAX);
    let at: DateTime<Utc> = crate::bounds::clamp(note.at);
    let row = retry("note", db.retries(), || {
        sqlx_core::query::query(SQL)
            .bind(note.task_id.as_uuid())
            .bind(at)
            .bind(note.worker.as_deref())
            .bind(note.kind.as_str())
            .bind(limit)
            .fetch_one(pool)
    })
    .await?;
    let found: i64 = row.try_get("found").map_err(other)?;
    let added: i64 = row.try_get("added").map_err(other)?;
    Ok(match (found, added) {
        (0, _) => NoteOutcome::Missing,
        (_, 0) => NoteOutcome::Full,
        _ => NoteOutcome::Added,
    })
}
