//! The task record ([`Task`]), what a caller sends ([`TaskSpec`]), the id and priority types,
//! and the input [`Limits`] that turn bad input into a [`ValidationError`] before anything is
//! written anywhere.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::state::TaskState;
use crate::trace::TraceContext;
use crate::workflow::WorkflowLink;

/// A task's id: a UUID v7 assigned by cogman, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(Uuid);

impl TaskId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        TaskId(Uuid::now_v7())
    }

    /// Wraps an existing UUID (for example one read back from storage).
    pub fn from_uuid(uuid: Uuid) -> Self {
        TaskId(uuid)
    }

    /// The underlying UUID.
    pub fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl Default for TaskId {
    fn default() -> Self {
        TaskId::new()
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for TaskId {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uuid::parse_str(s)
            .map(TaskId)
            .map_err(|_| ValidationError::InvalidId(s.chars().take(64).collect()))
    }
}

/// The seed's two priority levels. High tasks go to the high-priority queue set and are
/// started before low ones when both have work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Priority {
    /// Urgent work: the durable classic ("default") queues.
    High,
    /// Bulk work: the lazy queues. The default.
    #[default]
    Low,
}

impl Priority {
    /// The stable name: `High` or `Low`, as in the seed.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::High => "High",
            Priority::Low => "Low",
        }
    }
}

impl fmt::Display for Priority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Priority {
    type Err = ValidationError;

    /// Accepts `High`/`Low` in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "high" => Ok(Priority::High),
            "low" => Ok(Priority::Low),
            _ => Err(ValidationError::InvalidPriority(
                s.chars().take(32).collect(),
            )),
        }
    }
}

/// Why a task (or a field of one) was refused. Nothing is written when this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// The task name is empty.
    #[error("task name is empty")]
    EmptyName,
    /// The task name is longer than the limit.
    #[error("task name is {len} bytes long; the limit is {max}")]
    NameTooLong { len: usize, max: usize },
    /// The task name contains a control character.
    #[error("task name contains a control character")]
    NameHasControlChar,
    /// The payload is larger than the configured limit.
    #[error("payload is {len} bytes; the limit is {max} bytes (config max_payload_bytes)")]
    PayloadTooLarge { len: usize, max: usize },
    /// The primary key is too long or contains control characters.
    #[error("primary key is invalid: {0}")]
    InvalidPrimaryKey(&'static str),
    /// The retry budget is above the limit.
    #[error("retry budget {retry} is above the limit of {max}")]
    RetryTooLarge { retry: u32, max: u32 },
    /// The delay is longer than the limit.
    #[error("delay of {secs} s is above the limit of {max_secs} s")]
    DelayTooLong { secs: u64, max_secs: u64 },
    /// A timeout of zero was given.
    #[error("timeout must be greater than zero")]
    ZeroTimeout,
    /// A priority string that is neither High nor Low.
    #[error("invalid priority {0:?} (expected High or Low)")]
    InvalidPriority(String),
    /// A string that is not a task id.
    #[error("invalid task id {0:?} (expected a UUID)")]
    InvalidId(String),
    /// A queue name that is empty, longer than [`MAX_QUEUE_NAME_BYTES`] or holds a character
    /// outside `[A-Za-z0-9_.-]`.
    #[error("invalid queue name {0:?} (1 to 64 characters among A-Z a-z 0-9 _ . -)")]
    InvalidQueueName(String),
    /// A unique key or its hold time is invalid.
    #[error("unique key is invalid: {0}")]
    InvalidUniqueKey(&'static str),
    /// A chain, group or chord was refused as a whole (its size, or a field cogman sets).
    #[error("invalid workflow: {0}")]
    InvalidWorkflow(String),
    /// One task of a chain, group or chord was refused.
    #[error("{task}: {error}")]
    WorkflowTask {
        /// Which task, e.g. `chain step 2`, `group member 0`, `chord callback`.
        task: String,
        /// Why it was refused.
        error: Box<ValidationError>,
    },
}

/// Bounds on what a task may carry. The defaults are documented in `docs/configuration.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest payload accepted, in bytes. Default 1 MiB.
    pub max_payload_bytes: usize,
    /// Longest task name, in bytes. Default 200.
    pub max_name_bytes: usize,
    /// Largest retry budget. Default 100.
    pub max_retry: u32,
    /// Longest delay. Default 365 days.
    pub max_delay: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_payload_bytes: 1024 * 1024,
            max_name_bytes: 200,
            max_retry: 100,
            max_delay: Duration::from_secs(365 * 24 * 3600),
        }
    }
}

/// Checks a task name on its own (used by `register` as well as by `send_task`).
pub fn validate_name(name: &str, limits: &Limits) -> Result<(), ValidationError> {
    if name.is_empty() {
        return Err(ValidationError::EmptyName);
    }
    if name.len() > limits.max_name_bytes {
        return Err(ValidationError::NameTooLong {
            len: name.len(),
            max: limits.max_name_bytes,
        });
    }
    if name.chars().any(char::is_control) {
        return Err(ValidationError::NameHasControlChar);
    }
    Ok(())
}

/// The queue a task goes to when none is named.
pub const DEFAULT_QUEUE: &str = "default";

/// Longest queue name, in bytes.
pub const MAX_QUEUE_NAME_BYTES: usize = 64;

/// The default queue name as an owned string (serde default and builders).
pub fn default_queue() -> String {
    DEFAULT_QUEUE.to_owned()
}

/// Checks a queue name: 1 to [`MAX_QUEUE_NAME_BYTES`] bytes, only `[A-Za-z0-9_.-]`, so it is
/// safe inside AMQP queue names, routing keys and SQL.
///
/// # Errors
/// [`ValidationError::InvalidQueueName`].
pub fn validate_queue_name(queue: &str) -> Result<(), ValidationError> {
    let ok = !queue.is_empty()
        && queue.len() <= MAX_QUEUE_NAME_BYTES
        && queue
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(ValidationError::InvalidQueueName(
            queue.chars().take(80).collect(),
        ))
    }
}

/// Checks a primary key (the caller's trace key): at most `max_name_bytes` bytes, no control
/// characters (NUL included, which PostgreSQL cannot store).
///
/// # Errors
/// [`ValidationError::InvalidPrimaryKey`].
pub fn validate_primary_key(key: &str, limits: &Limits) -> Result<(), ValidationError> {
    if key.len() > limits.max_name_bytes {
        return Err(ValidationError::InvalidPrimaryKey("too long"));
    }
    if key.chars().any(char::is_control) {
        return Err(ValidationError::InvalidPrimaryKey(
            "contains a control character",
        ));
    }
    Ok(())
}

/// What a caller sends: a named task with a payload and options. Build it with
/// [`TaskSpec::new`] and the chained setters; cogman assigns the id.
///
/// ```
/// use std::time::Duration;
/// use cogman_core::{Priority, TaskSpec};
/// let spec = TaskSpec::new("email.send", b"{\"to\":\"a@b.c\"}".to_vec())
///     .priority(Priority::High)
///     .retry(3)
///     .delay(Duration::from_secs(10))
///     .primary_key("order-42");
/// assert_eq!(spec.retry, 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSpec {
    /// The registered handler name.
    pub name: String,
    /// The named queue it goes to (workers serve chosen queues). Default `default`.
    pub queue: String,
    /// Opaque bytes handed to the handler.
    pub payload: Vec<u8>,
    /// High or Low.
    pub priority: Priority,
    /// How many times the task may be retried after a failure. Default 0.
    pub retry: u32,
    /// A caller's key to trace the task by.
    pub primary_key: Option<String>,
    /// Run no earlier than this.
    pub run_at: Option<DateTime<Utc>>,
    /// Cancel the handler after this long.
    pub timeout: Option<Duration>,
    /// Workflow membership (set by chain, group and chord builders).
    pub workflow: Option<WorkflowLink>,
    /// At most one live task holds this key: a send with a key already held returns the
    /// holder's id instead of a new task (docs/scheduling.md).
    pub unique_key: Option<String>,
    /// How long the key is held from the send, even after the task finished; `None`: until
    /// the task (every attempt of it) ends.
    pub unique_for: Option<Duration>,
    /// The caller's trace context (for example its current span, or a `TRACEPARENT` it was
    /// given): the task's spans join that trace. `None`: a traced client starts a new trace.
    pub trace_parent: Option<TraceContext>,
}

impl Default for TaskSpec {
    fn default() -> Self {
        TaskSpec {
            name: String::new(),
            queue: default_queue(),
            payload: Vec::new(),
            priority: Priority::default(),
            retry: 0,
            primary_key: None,
            run_at: None,
            timeout: None,
            workflow: None,
            unique_key: None,
            unique_for: None,
            trace_parent: None,
        }
    }
}

impl TaskSpec {
    /// A low-priority task with no retries, on the `default` queue.
    pub fn new(name: impl Into<String>, payload: impl Into<Vec<u8>>) -> Self {
        TaskSpec {
            name: name.into(),
            payload: payload.into(),
            ..TaskSpec::default()
        }
    }

    /// Sets the priority.
    #[must_use]
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Sets the named queue (only workers serving it run the task).
    #[must_use]
    pub fn queue(mut self, queue: impl Into<String>) -> Self {
        self.queue = queue.into();
        self
    }

    /// Sets the retry budget.
    #[must_use]
    pub fn retry(mut self, retry: u32) -> Self {
        self.retry = retry;
        self
    }

    /// Sets the caller's trace key.
    #[must_use]
    pub fn primary_key(mut self, key: impl Into<String>) -> Self {
        self.primary_key = Some(key.into());
        self
    }

    /// Runs the task no earlier than `delay` from now.
    #[must_use]
    pub fn delay(mut self, delay: Duration) -> Self {
        let delay = chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX);
        self.run_at = Utc::now().checked_add_signed(delay);
        if self.run_at.is_none() {
            self.run_at = Some(DateTime::<Utc>::MAX_UTC);
        }
        self
    }

    /// Runs the task no earlier than `at`.
    #[must_use]
    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(at);
        self
    }

    /// Cancels the handler (and counts a failed attempt) after `timeout`.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Makes the task unique under `key`, held until the task ends (see
    /// [`TaskSpec::unique_for`] for a fixed time).
    #[must_use]
    pub fn unique_key(mut self, key: impl Into<String>) -> Self {
        self.unique_key = Some(key.into());
        self
    }

    /// Holds the unique key for `hold` from the send instead of until the task ends.
    #[must_use]
    pub fn unique_for(mut self, hold: Duration) -> Self {
        self.unique_for = Some(hold);
        self
    }

    /// Makes the task's spans children of `parent` (see [`TaskSpec::trace_parent`]).
    #[must_use]
    pub fn trace_parent(mut self, parent: TraceContext) -> Self {
        self.trace_parent = Some(parent);
        self
    }

    /// The unique key and its hold time, when the spec has a key.
    pub fn unique(&self) -> Option<crate::unique::UniqueKey> {
        self.unique_key
            .as_ref()
            .map(|key| crate::unique::UniqueKey {
                key: key.clone(),
                hold: self.unique_for,
            })
    }

    /// Checks every field against `limits`.
    ///
    /// # Errors
    /// The first [`ValidationError`] found.
    pub fn validate(&self, limits: &Limits, now: DateTime<Utc>) -> Result<(), ValidationError> {
        validate_name(&self.name, limits)?;
        validate_queue_name(&self.queue)?;
        if self.payload.len() > limits.max_payload_bytes {
            return Err(ValidationError::PayloadTooLarge {
                len: self.payload.len(),
                max: limits.max_payload_bytes,
            });
        }
        validate_key_and_retry(self.primary_key.as_deref(), self.retry, limits)?;
        if let Some(run_at) = self.run_at {
            let secs = (run_at - now).num_seconds().max(0) as u64;
            if secs > limits.max_delay.as_secs() {
                return Err(ValidationError::DelayTooLong {
                    secs,
                    max_secs: limits.max_delay.as_secs(),
                });
            }
        }
        if self.timeout == Some(Duration::ZERO) {
            return Err(ValidationError::ZeroTimeout);
        }
        crate::unique::validate_unique(self.unique_key.as_deref(), self.unique_for, limits)
    }
}

/// The checks of a primary key and a retry budget shared by a sent task and a workflow step.
pub(crate) fn validate_key_and_retry(
    primary_key: Option<&str>,
    retry: u32,
    limits: &Limits,
) -> Result<(), ValidationError> {
    if let Some(key) = primary_key {
        validate_primary_key(key, limits)?;
    }
    if retry > limits.max_retry {
        return Err(ValidationError::RetryTooLarge {
            retry,
            max: limits.max_retry,
        });
    }
    Ok(())
}

/// A task as cogman records it: the seed's fields plus run time, timeout, result and
/// workflow link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Assigned by cogman (UUID v7).
    pub id: TaskId,
    /// The registered handler name.
    pub name: String,
    /// The named queue it goes to. Records written before queues existed read as `default`.
    #[serde(default = "default_queue")]
    pub queue: String,
    /// Opaque bytes handed to the handler.
    #[serde(with = "crate::task::base64_bytes")]
    pub payload: Vec<u8>,
    /// High or Low.
    pub priority: Priority,
    /// Retries left for this attempt.
    pub retry: u32,
    /// 0 for the first attempt, 1 for the first retry, …
    pub attempt: u32,
    /// The id of the first attempt; equal to `id` for a first attempt (as in the seed).
    pub original_task_id: TaskId,
    /// The caller's trace key.
    pub primary_key: Option<String>,
    /// Current state.
    pub status: TaskState,
    /// Why it failed, if it did.
    pub fail_error: Option<String>,
    /// Bytes the handler returned.
    #[serde(with = "crate::task::base64_opt")]
    pub result: Option<Vec<u8>>,
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
    /// Workflow membership.
    pub workflow: Option<WorkflowLink>,
    /// The unique key this task's chain holds "until finished" (released when the chain
    /// ends); `None` for other tasks and for keys held for a fixed time. Travels with the task
    /// to the worker; the logs keep it in their unique-key table, not in the task record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_key: Option<String>,
    /// Where the task's trace continues (W3C `traceparent`/`tracestate`): the span that sent
    /// it, or the run that scheduled this attempt. Travels with the task to the worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TraceContext>,
}

impl Task {
    /// A new first attempt built from a validated spec, in state `initiated`.
    pub fn from_spec(spec: TaskSpec, now: DateTime<Utc>) -> Task {
        let id = TaskId::new();
        Task {
            id,
            name: spec.name,
            queue: spec.queue,
            payload: spec.payload,
            priority: spec.priority,
            retry: spec.retry,
            attempt: 0,
            original_task_id: id,
            primary_key: spec.primary_key,
            status: TaskState::Initiated,
            fail_error: None,
            result: None,
            duration: None,
            created_at: now,
            updated_at: now,
            run_at: spec.run_at,
            timeout_ms: spec
                .timeout
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
            workflow: spec.workflow,
            unique_key: spec.unique_key.filter(|_| spec.unique_for.is_none()),
            trace: spec.trace_parent,
        }
    }

    /// The next attempt after a failure: a new id, the same `original_task_id`, one retry
    /// fewer, one attempt more, to run at `run_at`.
    pub fn next_attempt(&self, run_at: DateTime<Utc>, now: DateTime<Utc>) -> Task {
        let spec = TaskSpec {
            name: self.name.clone(),
            queue: self.queue.clone(),
            payload: self.payload.clone(),
            priority: self.priority,
            retry: self.retry.saturating_sub(1),
            primary_key: self.primary_key.clone(),
            run_at: Some(run_at),
            timeout: self.timeout(),
            workflow: self.workflow.clone(),
            unique_key: self.unique_key.clone(),
            unique_for: None,
            trace_parent: self.trace.clone(),
        };
        Task {
            attempt: self.attempt + 1,
            original_task_id: self.original_task_id,
            ..Task::from_spec(spec, now)
        }
    }

    /// The handler timeout, if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout_ms.map(Duration::from_millis)
    }

    /// True when the task should wait: its run time is after `now`.
    pub fn is_delayed(&self, now: DateTime<Utc>) -> bool {
        self.run_at.is_some_and(|at| at > now)
    }

    /// The state a task enters when handed to the broker: `scheduled` when delayed, else `queued`.
    pub fn enqueued_state(&self, now: DateTime<Utc>) -> TaskState {
        if self.is_delayed(now) {
            TaskState::Scheduled
        } else {
            TaskState::Queued
        }
    }
}

/// Serde helper: bytes as standard base64 in human-readable formats.
pub mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes bytes as a base64 string.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    /// Reads bytes from a base64 string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

/// Serde helper: optional bytes as optional base64.
pub mod base64_opt {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes optional bytes as an optional base64 string.
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&base64::engine::general_purpose::STANDARD.encode(b)),
            None => s.serialize_none(),
        }
    }

    /// Reads optional bytes from an optional base64 string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|t| {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_specs_are_refused() {
        let limits = Limits {
            max_payload_bytes: 4,
            ..Limits::default()
        };
        let now = Utc::now();
        let check = |spec: TaskSpec| spec.validate(&limits, now);
        assert_eq!(
            check(TaskSpec::new("", vec![])),
            Err(ValidationError::EmptyName)
        );
        assert_eq!(
            check(TaskSpec::new("a\nb", vec![])),
            Err(ValidationError::NameHasControlChar)
        );
        assert!(matches!(
            check(TaskSpec::new("x".repeat(201), vec![])),
            Err(ValidationError::NameTooLong { .. })
        ));
        assert!(matches!(
            check(TaskSpec::new("ok", vec![0; 5])),
            Err(ValidationError::PayloadTooLarge { len: 5, max: 4 })
        ));
        assert!(matches!(
            check(TaskSpec::new("ok", vec![]).retry(101)),
            Err(ValidationError::RetryTooLarge { .. })
        ));
        assert_eq!(
            check(TaskSpec::new("ok", vec![]).timeout(Duration::ZERO)),
            Err(ValidationError::ZeroTimeout)
        );
        assert!(matches!(
            check(TaskSpec::new("ok", vec![]).run_at(now + chrono::Duration::days(400))),
            Err(ValidationError::DelayTooLong { .. })
        ));
        assert_eq!(
            check(TaskSpec::new("ok", vec![1, 2, 3, 4]).retry(3)),
            Ok(())
        );
    }

    #[test]
    fn queue_names_are_checked() {
        let now = Utc::now();
        let limits = Limits::default();
        for good in ["default", "a", "img.resize-2_x", &"q".repeat(64)] {
            assert_eq!(validate_queue_name(good), Ok(()), "{good}");
        }
        for bad in ["", "a b", "a/b", "é", "a#", "a*", &"q".repeat(65)] {
            assert!(
                matches!(
                    TaskSpec::new("t", vec![]).queue(bad).validate(&limits, now),
                    Err(ValidationError::InvalidQueueName(_))
                ),
                "{bad:?} accepted"
            );
        }
        assert_eq!(TaskSpec::new("t", vec![]).queue, DEFAULT_QUEUE);
    }

    #[test]
    fn old_records_read_as_the_default_queue() {
        let task = Task::from_spec(TaskSpec::new("t", vec![]).queue("img"), Utc::now());
        assert_eq!(task.queue, "img");
        assert_eq!(task.next_attempt(Utc::now(), Utc::now()).queue, "img");
        let mut json = serde_json::to_value(&task).expect("serializes");
        json.as_object_mut().expect("object").remove("queue");
        let back: Task = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back.queue, DEFAULT_QUEUE);
    }

    #[test]
    fn priorities_parse_in_any_case() {
        assert_eq!("HIGH".parse::<Priority>(), Ok(Priority::High));
        assert_eq!("low".parse::<Priority>(), Ok(Priority::Low));
        assert!("urgent".parse::<Priority>().is_err());
    }

    #[test]
    fn a_retry_keeps_the_root_and_spends_budget() {
        let now = Utc::now();
        let first = Task::from_spec(
            TaskSpec::new("t", b"p".to_vec()).retry(2).primary_key("k"),
            now,
        );
        assert_eq!(first.original_task_id, first.id);
        let second = first.next_attempt(now, now);
        assert_ne!(second.id, first.id);
        assert_eq!(second.original_task_id, first.id);
        assert_eq!((second.retry, second.attempt), (1, 1));
        assert_eq!(second.primary_key.as_deref(), Some("k"));
    }

    #[test]
    fn task_json_round_trips() {
        let task = Task::from_spec(TaskSpec::new("t", vec![0, 255, 7]), Utc::now());
        let json = serde_json::to_string(&task).expect("serializes");
        let back: Task = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, task);
    }
}
