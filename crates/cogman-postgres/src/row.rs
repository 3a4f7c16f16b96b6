//! Reading rows back into [`Task`], [`StateChange`] and [`WorkerInfo`], and the column list
//! every task query selects.

use chrono::{DateTime, Utc};
use cogman_core::{Priority, StateChange, Task, TaskId, TaskLogError, TaskState, WorkerInfo};
use sqlx_core::row::Row as _;
use sqlx_postgres::PgRow;
use uuid::Uuid;

/// The columns of a task that [`task`] reads, as a literal (for `concat!`).
macro_rules! task_columns {
    () => {
        "id, name, payload, priority, retry, attempt, original_task_id, primary_key, status, \
         fail_error, result, duration, created_at, updated_at, run_at, timeout_ms, \
         workflow::text AS workflow, queue"
    };
}
pub(crate) use task_columns;

/// The columns of a task that [`task`] reads.
pub(crate) const TASK_COLUMNS: &str = task_columns!();

/// A task row.
pub(crate) fn task(row: &PgRow) -> Result<Task, TaskLogError> {
    let id = TaskId::from_uuid(row.try_get::<Uuid, _>("id").map_err(other)?);
    let bad = |field: &str, reason: String| TaskLogError::Corrupt {
        id: id.to_string(),
        reason: format!("{field}: {reason}"),
    };
    let get_u32 = |field: &str| -> Result<u32, TaskLogError> {
        let n: i64 = row.try_get(field).map_err(other)?;
        u32::try_from(n).map_err(|e| bad(field, e.to_string()))
    };
    let priority: String = row.try_get("priority").map_err(other)?;
    let status: String = row.try_get("status").map_err(other)?;
    let timeout_ms: Option<i64> = row.try_get("timeout_ms").map_err(other)?;
    let workflow: Option<String> = row.try_get("workflow").map_err(other)?;
    Ok(Task {
        trace: None,
        id,
        name: row.try_get("name").map_err(other)?,
        queue: row.try_get("queue").map_err(other)?,
        payload: row.try_get("payload").map_err(other)?,
        priority: priority
            .parse::<Priority>()
            .map_err(|e| bad("priority", e.to_string()))?,
        retry: get_u32("retry")?,
        attempt: get_u32("attempt")?,
        original_task_id: TaskId::from_uuid(row.try_get("original_task_id").map_err(other)?),
        primary_key: row.try_get("primary_key").map_err(other)?,
        status: status
            .parse::<TaskState>()
            .map_err(|e| bad("status", e.to_string()))?,
        fail_error: row.try_get("fail_error").map_err(other)?,
        result: row.try_get("result").map_err(other)?,
        duration: row.try_get("duration").map_err(other)?,
        created_at: row.try_get("created_at").map_err(other)?,
        updated_at: row.try_get("updated_at").map_err(other)?,
        run_at: row.try_get("run_at").map_err(other)?,
        timeout_ms: timeout_ms
            .map(|t| u64::try_from(t).map_err(|e| bad("timeout_ms", e.to_string())))
            .transpose()?,
        workflow: workflow
            .map(|json| serde_json::from_str(&json).map_err(|e| bad("workflow", e.to_string())))
            .transpose()?,
        unique_key: None,
    })
}

/// A `task_events` row.
pub(crate) fn change(row: &PgRow) -> Result<StateChange, TaskLogError> {
    let task_id = TaskId::from_uuid(row.try_get::<Uuid, _>("task_id").map_err(other)?);
    let status: String = row.try_get("status").map_err(other)?;
    Ok(StateChange {
        task_id,
        state: status
            .parse()
            .map_err(
                |e: cogman_core::state::UnknownState| TaskLogError::Corrupt {
                    id: task_id.to_string(),
                    reason: format!("event status: {e}"),
                },
            )?,
        at: row.try_get::<DateTime<Utc>, _>("at").map_err(other)?,
        error: row.try_get("error").map_err(other)?,
        result: row.try_get("result").map_err(other)?,
        duration: row.try_get("duration").map_err(other)?,
        worker: row.try_get("worker").map_err(other)?,
        note: row
            .try_get::<Option<String>, _>("note")
            .map_err(other)?
            .map(|kind| kind.parse())
            .transpose()
            .map_err(|e: cogman_core::UnknownNoteKind| TaskLogError::Corrupt {
                id: task_id.to_string(),
                reason: e.to_string(),
            })?,
    })
}

/// A `workers` row.
pub(crate) fn worker(row: &PgRow) -> Result<WorkerInfo, TaskLogError> {
    let id: String = row.try_get("id").map_err(other)?;
    let number = |field: &str| -> Result<u32, TaskLogError> {
        let n: i64 = row.try_get(field).map_err(other)?;
        u32::try_from(n).map_err(|e| TaskLogError::Corrupt {
            id: id.clone(),
            reason: format!("worker {field}: {e}"),
        })
    };
    Ok(WorkerInfo {
        host: row.try_get("host").map_err(other)?,
        pid: number("pid")?,
        concurrency: number("concurrency")?,
        in_flight: number("in_flight")?,
        handlers: row.try_get("handlers").map_err(other)?,
        queues: row.try_get("queues").map_err(other)?,
        started_at: row.try_get("started_at").map_err(other)?,
        last_heartbeat: row.try_get("last_heartbeat").map_err(other)?,
        id,
    })
}

pub(crate) fn other(error: sqlx_core::Error) -> TaskLogError {
    TaskLogError::Other(Box::new(error))
}
