//! Reads of one task: its row (`get`) and its history, each one query, retried when a
//! connection is lost.

use cogman_core::{StateChange, Task, TaskId, TaskLogError};

use crate::db::Db;
use crate::error::retry;
use crate::row;

/// The task `id` as the table holds it (without the changes this process holds back).
pub(crate) async fn get(db: &Db, id: TaskId) -> Result<Option<Task>, TaskLogError> {
    const SQL: &str = concat!("SELECT ", row::task_columns!(), " FROM tasks WHERE id = $1");
    let pool = db.pool().await?;
    let found = retry("get", db.retries(), || {
        sqlx_core::query::query(SQL)
            .bind(id.as_uuid())
            .fetch_optional(pool)
    })
    .await?;
    found.as_ref().map(row::task).transpose()
}

/// The applied changes of task `id`, oldest first.
pub(crate) async fn history(db: &Db, id: TaskId) -> Result<Vec<StateChange>, TaskLogError> {
    let pool = db.pool().await?;
    let rows = retry("history", db.retries(), || {
        sqlx_core::query::query(
            "SELECT task_id, status, at, error, result, duration, worker, note \
             FROM task_events WHERE task_id = $1 ORDER BY seq",
        )
        .bind(id.as_uuid())
        .fetch_all(pool)
    })
    .await?;
    rows.iter().map(row::change).collect()
}
