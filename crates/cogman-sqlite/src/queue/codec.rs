//! How a task is stored in a `queue` row: its JSON (payload left out) in `task`, the payload
//! bytes in `payload`, priority as 0 (High) or 1 (Low), the run time in nanoseconds, and the
//! named queue in `queue`.

use cogman_core::{Priority, Task};
use rusqlite::ToSql;

use crate::error::SqliteError;
use crate::time::{now_ns, to_ns};

/// A task ready to insert into `queue`.
#[derive(Debug)]
pub(crate) struct QueueRow {
    pub(crate) task_id: String,
    pub(crate) priority: i64,
    pub(crate) run_at: i64,
    pub(crate) json: String,
    pub(crate) payload: Vec<u8>,
    pub(crate) queue: String,
}

impl QueueRow {
    /// `?1` task id, `?2` priority, `?3` run time, `?4` task JSON, `?5` payload, `?6` named
    /// queue: the values of an insert into a queue table.
    pub(crate) fn insert_params(&self) -> [&dyn ToSql; 6] {
        [
            &self.task_id,
            &self.priority,
            &self.run_at,
            &self.json,
            &self.payload,
            &self.queue,
        ]
    }
}

/// The stored priority: High sorts first.
pub(crate) fn priority_code(priority: Priority) -> i64 {
    match priority {
        Priority::High => 0,
        Priority::Low => 1,
    }
}

/// Encodes `task` for the queue; a task without a run time is due now.
pub(crate) fn encode(task: &Task) -> Result<QueueRow, SqliteError> {
    // Every field but the payload, which goes to its own BLOB column.
    let without_payload = Task {
        trace: task.trace.clone(),
        id: task.id,
        name: task.name.clone(),
        queue: task.queue.clone(),
        payload: Vec::new(),
        priority: task.priority,
        retry: task.retry,
        attempt: task.attempt,
        original_task_id: task.original_task_id,
        primary_key: task.primary_key.clone(),
        status: task.status,
        fail_error: task.fail_error.clone(),
        result: task.result.clone(),
        duration: task.duration,
        created_at: task.created_at,
        updated_at: task.updated_at,
        run_at: task.run_at,
        timeout_ms: task.timeout_ms,
        workflow: task.workflow.clone(),
        unique_key: task.unique_key.clone(),
    };
    let json = serde_json::to_string(&without_payload).map_err(|source| SqliteError::Encode {
        what: "task",
        source,
    })?;
    Ok(QueueRow {
        task_id: task.id.to_string(),
        priority: priority_code(task.priority),
        run_at: task.run_at.map_or_else(now_ns, to_ns),
        json,
        payload: task.payload.clone(),
        queue: task.queue.clone(),
    })
}

/// Decodes a queue row; the error says why the row is malformed.
pub(crate) fn decode(task_id: &str, json: &str, payload: Vec<u8>) -> Result<Task, String> {
    let mut task: Task =
        serde_json::from_str(json).map_err(|e| format!("malformed task row: {e}"))?;
    if task.id.to_string() != task_id {
        return Err(format!(
            "malformed task row: its JSON names task {} but the row is for {task_id}",
            task.id
        ));
    }
    task.payload = payload;
    Ok(task)
}
