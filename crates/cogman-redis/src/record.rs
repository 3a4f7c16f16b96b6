//! How a [`Task`] is stored: one Redis hash per task, one field per task field (bytes stay
//! raw, timestamps are RFC 3339 with nanoseconds so they read back exactly), plus
//! `created_us`, the index score. Also the JSON of history entries.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use cogman_core::{Priority, StateChange, Task, TaskId, TaskLogError, TaskState};

/// Field/value pairs of a task hash.
pub(crate) type Fields = Vec<(&'static str, Vec<u8>)>;

/// The stored text of a timestamp.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// The index score of a creation time: microseconds since the epoch (exact in a double for
/// years 1685 to 2255).
pub(crate) fn score(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// Every field of `task`, for a new record.
pub(crate) fn fields(task: &Task) -> Fields {
    let mut fields: Fields = vec![
        ("id", task.id.to_string().into_bytes()),
        ("name", task.name.clone().into_bytes()),
        ("payload", task.payload.clone()),
        ("priority", task.priority.as_str().as_bytes().to_vec()),
        ("retry", task.retry.to_string().into_bytes()),
        ("attempt", task.attempt.to_string().into_bytes()),
        (
            "original_task_id",
            task.original_task_id.to_string().into_bytes(),
        ),
        ("status", task.status.as_str().as_bytes().to_vec()),
        ("created_at", timestamp(task.created_at).into_bytes()),
        (
            "created_us",
            score(task.created_at).to_string().into_bytes(),
        ),
        ("updated_at", timestamp(task.updated_at).into_bytes()),
    ];
    if let Some(key) = &task.primary_key {
        fields.push(("primary_key", key.clone().into_bytes()));
    }
    if let Some(run_at) = task.run_at {
        fields.push(("run_at", timestamp(run_at).into_bytes()));
    }
    if let Some(timeout) = task.timeout_ms {
        fields.push(("timeout_ms", timeout.to_string().into_bytes()));
    }
    if let Some(workflow) = &task.workflow {
        let json = serde_json::to_vec(workflow).expect("invariant: a workflow link serializes");
        fields.push(("workflow", json));
    }
    fields.extend(outcome_fields(
        task.fail_error.as_deref(),
        task.result.as_deref(),
        task.duration,
    ));
    fields
}

/// The fields a state change may carry besides the state (stored only when present).
pub(crate) fn outcome_fields(
    error: Option<&str>,
    result: Option<&[u8]>,
    duration: Option<f64>,
) -> Fields {
    let mut fields = Fields::new();
    if let Some(error) = error {
        fields.push(("fail_error", error.as_bytes().to_vec()));
    }
    if let Some(result) = result {
        fields.push(("result", result.to_vec()));
    }
    if let Some(duration) = duration {
        fields.push(("duration", duration.to_string().into_bytes()));
    }
    fields
}

/// The history entry for a change.
pub(crate) fn history_entry(change: &StateChange) -> String {
    serde_json::to_string(change).expect("invariant: a state change serializes")
}

/// Reads a history entry back.
pub(crate) fn parse_history(id: TaskId, entry: &[u8]) -> Result<StateChange, TaskLogError> {
    serde_json::from_slice(entry).map_err(|e| corrupt(id, format!("history entry: {e}")))
}

/// Reads a task hash back (`HGETALL`); `None` when the hash is empty (no record).
pub(crate) fn parse_task(
    id: TaskId,
    mut hash: HashMap<String, Vec<u8>>,
) -> Result<Option<Task>, TaskLogError> {
    if hash.is_empty() {
        return Ok(None);
    }
    let mut take = |field: &str| hash.remove(field);
    let text = |field: &'static str,
                value: Option<Vec<u8>>|
     -> Result<Option<String>, TaskLogError> {
        value
            .map(|bytes| {
                String::from_utf8(bytes).map_err(|_| corrupt(id, format!("{field} is not UTF-8")))
            })
            .transpose()
    };
    let required = |field: &'static str, value: Option<Vec<u8>>| -> Result<String, TaskLogError> {
        text(field, value)?.ok_or_else(|| corrupt(id, format!("{field} is missing")))
    };
    let stored_id = required("id", take("id"))?;
    let name = required("name", take("name"))?;
    let payload = take("payload").unwrap_or_default();
    let priority: Priority = required("priority", take("priority"))?
        .parse()
        .map_err(|e| corrupt(id, format!("priority: {e}")))?;
    let retry = number(id, "retry", &required("retry", take("retry"))?)?;
    let attempt = number(id, "attempt", &required("attempt", take("attempt"))?)?;
    let original: TaskId = required("original_task_id", take("original_task_id"))?
        .parse()
        .map_err(|e| corrupt(id, format!("original_task_id: {e}")))?;
    let status: TaskState = required("status", take("status"))?
        .parse()
        .map_err(|e| corrupt(id, format!("status: {e}")))?;
    let created_at = instant(
        id,
        "created_at",
        &required("created_at", take("created_at"))?,
    )?;
    let updated_at = instant(
        id,
        "updated_at",
        &required("updated_at", take("updated_at"))?,
    )?;
    let run_at = text("run_at", take("run_at"))?
        .map(|t| instant(id, "run_at", &t))
        .transpose()?;
    let timeout_ms = text("timeout_ms", take("timeout_ms"))?
        .map(|t| number(id, "timeout_ms", &t))
        .transpose()?;
    let duration = text("duration", take("duration"))?
        .map(|t| {
            t.parse::<f64>()
                .map_err(|e| corrupt(id, format!("duration: {e}")))
        })
        .transpose()?;
    let workflow = take("workflow")
        .map(|json| {
            serde_json::from_slice(&json).map_err(|e| corrupt(id, format!("workflow: {e}")))
        })
        .transpose()?;
    if stored_id != id.to_string() {
        return Err(corrupt(id, format!("record holds id {stored_id}")));
    }
    Ok(Some(Task {
        id,
        name,
        payload,
        priority,
        retry,
        attempt,
        original_task_id: original,
        primary_key: text("primary_key", take("primary_key"))?,
        status,
        fail_error: text("fail_error", take("fail_error"))?,
        result: take("result"),
        duration,
        created_at,
        updated_at,
        run_at,
        timeout_ms,
        workflow,
    }))
}

fn number<T: std::str::FromStr>(id: TaskId, field: &str, text: &str) -> Result<T, TaskLogError>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| corrupt(id, format!("{field}: {e}")))
}

fn instant(id: TaskId, field: &str, text: &str) -> Result<DateTime<Utc>, TaskLogError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(id, format!("{field}: {e}")))
}

pub(crate) fn corrupt(id: TaskId, reason: String) -> TaskLogError {
    TaskLogError::Corrupt {
        id: id.to_string(),
        reason,
    }
}
