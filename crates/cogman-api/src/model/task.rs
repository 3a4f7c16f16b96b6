//! How tasks and their history look on the wire: [`TaskView`], [`StateChangeView`],
//! [`TaskDetails`] and [`TaskPage`], with lossless conversions to and from the core types
//! (bytes travel as base64; when they are UTF-8 JSON they are also given as JSON).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use cogman::{Page, StateChange, Task, TaskId, WorkflowLink};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::names::{NoteName, PriorityName, StatusName};

/// Why a response could not be turned back into core types (what an HTTP client of the API
/// meets when a body is malformed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {field} in a response: {reason}")]
pub struct ViewError {
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

/// The bytes as JSON, when they are UTF-8 JSON.
pub(crate) fn as_json(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice(bytes).ok()
}

impl ViewError {
    fn new(field: &'static str, reason: impl std::fmt::Display) -> Self {
        ViewError {
            field,
            reason: reason.to_string(),
        }
    }
}

/// Optional bytes as standard base64.
fn encode_opt(bytes: Option<&[u8]>) -> Option<String> {
    bytes.map(|b| STANDARD.encode(b))
}

fn decode(field: &'static str, text: &str) -> Result<Vec<u8>, ViewError> {
    STANDARD.decode(text).map_err(|e| ViewError::new(field, e))
}

/// Optional base64 text back to bytes.
fn decode_opt(field: &'static str, text: Option<&str>) -> Result<Option<Vec<u8>>, ViewError> {
    text.map(|t| decode(field, t)).transpose()
}

/// A task as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Task)]
pub struct TaskView {
    /// Assigned by cogman (UUID v7).
    pub id: Uuid,
    /// The handler name.
    pub name: String,
    /// The named queue it was sent to.
    #[serde(default = "cogman::default_queue")]
    #[schema(example = "default")]
    pub queue: String,
    /// The payload bytes, standard base64 (always present; exact bytes).
    pub payload_base64: String,
    /// The payload as JSON, present when the bytes are UTF-8 JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// High or Low.
    pub priority: PriorityName,
    /// Retries left for this attempt.
    pub retry: u32,
    /// 0 for the first attempt, 1 for the first retry, …
    pub attempt: u32,
    /// The id of the first attempt (equal to `id` for a first attempt).
    pub original_task_id: Uuid,
    /// The caller's trace key.
    pub primary_key: Option<String>,
    /// Current state.
    pub status: StatusName,
    /// Why it failed, if it did.
    pub fail_error: Option<String>,
    /// The handler's result, standard base64.
    pub result_base64: Option<String>,
    /// The result as JSON, present when the bytes are UTF-8 JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// How long the handler ran, in seconds.
    pub duration: Option<f64>,
    /// When the task was accepted.
    pub created_at: DateTime<Utc>,
    /// When its record last changed.
    pub updated_at: DateTime<Utc>,
    /// Run no earlier than this.
    pub run_at: Option<DateTime<Utc>>,
    /// Handler timeout in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Workflow membership (chain, group or chord), as recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub workflow: Option<Value>,
}

impl From<&Task> for TaskView {
    fn from(task: &Task) -> Self {
        TaskView {
            id: task.id.as_uuid(),
            name: task.name.clone(),
            queue: task.queue.clone(),
            payload_base64: STANDARD.encode(&task.payload),
            payload: as_json(&task.payload),
            priority: PriorityName(task.priority),
            retry: task.retry,
            attempt: task.attempt,
            original_task_id: task.original_task_id.as_uuid(),
            primary_key: task.primary_key.clone(),
            status: StatusName(task.status),
            fail_error: task.fail_error.clone(),
            result_base64: encode_opt(task.result.as_deref()),
            result: task.result.as_deref().and_then(as_json),
            duration: task.duration,
            created_at: task.created_at,
            updated_at: task.updated_at,
            run_at: task.run_at,
            timeout_ms: task.timeout_ms,
            workflow: task
                .workflow
                .as_ref()
                .and_then(|w| serde_json::to_value(w).ok()),
        }
    }
}

impl TryFrom<TaskView> for Task {
    type Error = ViewError;

    fn try_from(view: TaskView) -> Result<Self, Self::Error> {
        let workflow = view
            .workflow
            .map(serde_json::from_value::<WorkflowLink>)
            .transpose()
            .map_err(|e| ViewError::new("workflow", e))?;
        Ok(Task {
            trace: None,
            id: TaskId::from_uuid(view.id),
            name: view.name,
            queue: view.queue,
            payload: decode("payload_base64", &view.payload_base64)?,
            priority: view.priority.0,
            retry: view.retry,
            attempt: view.attempt,
            original_task_id: TaskId::from_uuid(view.original_task_id),
            primary_key: view.primary_key,
            status: view.status.0,
            fail_error: view.fail_error,
            result: decode_opt("result_base64", view.result_base64.as_deref())?,
            duration: view.duration,
            created_at: view.created_at,
            updated_at: view.updated_at,
            run_at: view.run_at,
            timeout_ms: view.timeout_ms,
            workflow,
            unique_key: None,
        })
    }
}

/// One recorded change of a task's state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = StateChange)]
pub struct StateChangeView {
    /// The task that changed.
    pub task_id: Uuid,
    /// Its new state.
    pub state: StatusName,
    /// When.
    pub at: DateTime<Utc>,
    /// The failure message (failed, retry, cancelled).
    pub error: Option<String>,
    /// The handler's result (success), standard base64.
    pub result_base64: Option<String>,
    /// How long the handler ran, in seconds.
    pub duration: Option<f64>,
    /// Which worker made the change.
    pub worker: Option<String>,
    /// Set on a history note: an entry that records something that happened while the task
    /// stayed in `state` (`rerun`: it runs again after an earlier run was cut short;
    /// `waiting_for_handler`: `worker` has no handler for its name and handed it back).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<NoteName>,
}

impl From<&StateChange> for StateChangeView {
    fn from(change: &StateChange) -> Self {
        StateChangeView {
            task_id: change.task_id.as_uuid(),
            state: StatusName(change.state),
            at: change.at,
            error: change.error.clone(),
            result_base64: encode_opt(change.result.as_deref()),
            duration: change.duration,
            worker: change.worker.clone(),
            note: change.note.map(NoteName),
        }
    }
}

impl TryFrom<StateChangeView> for StateChange {
    type Error = ViewError;

    fn try_from(view: StateChangeView) -> Result<Self, Self::Error> {
        Ok(StateChange {
            task_id: TaskId::from_uuid(view.task_id),
            state: view.state.0,
            at: view.at,
            error: view.error,
            result: decode_opt("result_base64", view.result_base64.as_deref())?,
            duration: view.duration,
            worker: view.worker,
            note: view.note.map(|name| name.0),
        })
    }
}

/// A task with its attempts and history: the answer of `GET /tasks/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskDetails {
    /// The task (the record asked for, in its own state).
    pub task: TaskView,
    /// Where the task stands as a whole: the state of its newest attempt (`success`,
    /// `failed` or `cancelled` once decided, whichever attempt's id was asked for).
    pub chain_status: StatusName,
    /// The id of the newest attempt.
    pub latest_attempt: Uuid,
    /// Every attempt sharing its `original_task_id` (itself included), newest first.
    pub attempts: Vec<TaskView>,
    /// Its recorded state changes and notes, oldest first.
    pub history: Vec<StateChangeView>,
    /// True while the task waits for a worker with a handler for its name on its queue (a
    /// worker without one handed it back; see `handler_wait` in docs/configuration.md).
    pub waiting_for_handler: bool,
}

impl From<&cogman::TaskDetails> for TaskDetails {
    fn from(details: &cogman::TaskDetails) -> Self {
        TaskDetails {
            task: TaskView::from(&details.task),
            chain_status: StatusName(details.chain_status),
            latest_attempt: details.latest_attempt.as_uuid(),
            attempts: details.attempts.iter().map(TaskView::from).collect(),
            history: details.history.iter().map(StateChangeView::from).collect(),
            waiting_for_handler: details.waiting_for_handler(),
        }
    }
}

impl TryFrom<TaskDetails> for cogman::TaskDetails {
    type Error = ViewError;

    fn try_from(details: TaskDetails) -> Result<Self, Self::Error> {
        Ok(cogman::TaskDetails {
            task: details.task.try_into()?,
            chain_status: details.chain_status.0,
            latest_attempt: TaskId::from_uuid(details.latest_attempt),
            attempts: details
                .attempts
                .into_iter()
                .map(Task::try_from)
                .collect::<Result<_, _>>()?,
            history: details
                .history
                .into_iter()
                .map(StateChange::try_from)
                .collect::<Result<_, _>>()?,
        })
    }
}

/// One page of tasks, newest first: the answer of `GET /tasks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TaskPage {
    /// The tasks.
    pub items: Vec<TaskView>,
    /// Pass as `after` to get the next page; null on the last page.
    pub next: Option<String>,
}

impl From<&Page> for TaskPage {
    fn from(page: &Page) -> Self {
        TaskPage {
            items: page.items.iter().map(TaskView::from).collect(),
            next: page.next.map(|c| c.to_string()),
        }
    }
}

impl TryFrom<TaskPage> for Page {
    type Error = ViewError;

    fn try_from(page: TaskPage) -> Result<Self, Self::Error> {
        let next = page
            .next
            .map(|c| c.parse::<cogman::Cursor>())
            .transpose()
            .map_err(|e| ViewError::new("next", e))?;
        let items = page
            .items
            .into_iter()
            .map(Task::try_from)
            .collect::<Result<_, _>>()?;
        Ok(Page { items, next })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cogman::TaskSpec;

    #[test]
    fn tasks_round_trip_through_the_view() {
        let mut task = Task::from_spec(
            TaskSpec::new("t", vec![0, 159, 255]).primary_key("k"),
            Utc::now(),
        );
        task.result = Some(b"{\"ok\":true}".to_vec());
        let view = TaskView::from(&task);
        assert_eq!(view.payload, None, "binary payloads are not shown as JSON");
        assert_eq!(view.result, Some(serde_json::json!({"ok": true})));
        let json = serde_json::to_string(&view).expect("serializes");
        let back: TaskView = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(Task::try_from(back), Ok(task));
    }

    #[test]
    fn json_payloads_are_shown_as_json_too() {
        let task = Task::from_spec(TaskSpec::new("t", b"{\"a\":[1,2]}".to_vec()), Utc::now());
        let view = TaskView::from(&task);
        assert_eq!(view.payload, Some(serde_json::json!({"a": [1, 2]})));
        assert_eq!(
            STANDARD.decode(view.payload_base64).expect("base64"),
            task.payload
        );
    }
}
