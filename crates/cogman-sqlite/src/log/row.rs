//! The `tasks` table row: the column list, binding a [`Task`] for insert, and reading a row
//! back into a [`Task`] (a value that does not parse is reported as corrupt, never panics).

use cogman_core::{Priority, Task, TaskId, TaskState, WorkflowLink};
use rusqlite::{Connection, Row, params};

use crate::error::SqliteError;
use crate::time::{from_ns, to_ns};

/// Every column of `tasks` that maps to a [`Task`] field, in [`RawTask`] order.
pub(crate) const TASK_COLUMNS: &str = "id, name, payload, priority, retry, attempt, \
    original_task_id, primary_key, status, fail_error, result, duration, created_at, \
    updated_at, run_at, timeout_ms, workflow, queue";

/// A `tasks` row as SQLite returns it, before any parsing.
#[derive(Debug)]
pub(crate) struct RawTask {
    id: String,
    name: String,
    payload: Vec<u8>,
    priority: String,
    retry: i64,
    attempt: i64,
    original_task_id: String,
    primary_key: Option<String>,
    status: String,
    fail_error: Option<String>,
    result: Option<Vec<u8>>,
    duration: Option<f64>,
    created_at: i64,
    updated_at: i64,
    run_at: Option<i64>,
    timeout_ms: Option<i64>,
    workflow: Option<String>,
    queue: String,
}

impl RawTask {
    /// Reads a row selected with [`TASK_COLUMNS`].
    pub(crate) fn from_row(row: &Row<'_>) -> rusqlite::Result<RawTask> {
        Ok(RawTask {
            id: row.get(0)?,
            name: row.get(1)?,
            payload: row.get(2)?,
            priority: row.get(3)?,
            retry: row.get(4)?,
            attempt: row.get(5)?,
            original_task_id: row.get(6)?,
            primary_key: row.get(7)?,
            status: row.get(8)?,
            fail_error: row.get(9)?,
            result: row.get(10)?,
            duration: row.get(11)?,
            created_at: row.get(12)?,
            updated_at: row.get(13)?,
            run_at: row.get(14)?,
            timeout_ms: row.get(15)?,
            workflow: row.get(16)?,
            queue: row.get(17)?,
        })
    }

    /// Parses the row into a task.
    pub(crate) fn into_task(self) -> Result<Task, SqliteError> {
        let corrupt = |reason: String| SqliteError::Corrupt {
            id: self.id.clone(),
            reason,
        };
        let workflow = match &self.workflow {
            Some(json) => Some(
                serde_json::from_str::<WorkflowLink>(json)
                    .map_err(|e| corrupt(format!("workflow: {e}")))?,
            ),
            None => None,
        };
        Ok(Task {
            trace: None,
            id: parse_id(&self.id)?,
            original_task_id: parse_id(&self.original_task_id)
                .map_err(|_| corrupt("original_task_id is not a UUID".into()))?,
            priority: self
                .priority
                .parse::<Priority>()
                .map_err(|e| corrupt(format!("priority: {e}")))?,
            status: parse_state(&self.id, &self.status)?,
            retry: u32::try_from(self.retry).map_err(|_| corrupt("retry out of range".into()))?,
            attempt: u32::try_from(self.attempt)
                .map_err(|_| corrupt("attempt out of range".into()))?,
            timeout_ms: self.timeout_ms.map(|ms| u64::try_from(ms).unwrap_or(0)),
            created_at: from_ns(self.created_at),
            updated_at: from_ns(self.updated_at),
            run_at: self.run_at.map(from_ns),
            workflow,
            name: self.name,
            queue: self.queue,
            payload: self.payload,
            primary_key: self.primary_key,
            fail_error: self.fail_error,
            result: self.result,
            duration: self.duration,
            unique_key: None,
        })
    }
}

/// Parses a stored task id.
pub(crate) fn parse_id(id: &str) -> Result<TaskId, SqliteError> {
    id.parse().map_err(|_| SqliteError::Corrupt {
        id: id.to_owned(),
        reason: "id is not a UUID".into(),
    })
}

/// Parses a stored state name.
pub(crate) fn parse_state(id: &str, state: &str) -> Result<TaskState, SqliteError> {
    state.parse().map_err(|e| SqliteError::Corrupt {
        id: id.to_owned(),
        reason: format!("status: {e}"),
    })
}

/// Inserts `task` unless a row with its id exists; returns whether it was inserted.
pub(crate) fn insert_task(conn: &Connection, task: &Task) -> Result<bool, SqliteError> {
    let workflow = task
        .workflow
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(|source| SqliteError::Encode {
            what: "workflow link",
            source,
        })?;
    let inserted = conn
        .prepare_cached(
            "INSERT INTO tasks (id, name, payload, priority, retry, attempt, original_task_id, \
             primary_key, status, fail_error, result, duration, created_at, updated_at, run_at, \
             timeout_ms, workflow, queue) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
             ?18) \
             ON CONFLICT (id) DO NOTHING",
        )?
        .execute(params![
            task.id.to_string(),
            task.name,
            task.payload,
            task.priority.as_str(),
            i64::from(task.retry),
            i64::from(task.attempt),
            task.original_task_id.to_string(),
            task.primary_key,
            task.status.as_str(),
            task.fail_error,
            task.result,
            task.duration,
            to_ns(task.created_at),
            to_ns(task.updated_at),
            task.run_at.map(to_ns),
            task.timeout_ms
                .map(|ms| i64::try_from(ms).unwrap_or(i64::MAX)),
            workflow,
            task.queue,
        ])?;
    Ok(inserted > 0)
}
