//! The [`TaskLog`] trait: where every task's life is recorded. It stores a record per task,
//! applies [`StateChange`]s under the one transition rule ([`TaskState::transition_to`]), and
//! answers reads: by id, lists with a typed [`TaskFilter`] and cursor paging, counts per state
//! per time bucket, and history. Implemented by SQLite, Redis and PostgreSQL.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::broker::BoxError;
use crate::note::{HistoryNote, NoteKind, NoteOutcome};
use crate::state::TaskState;
use crate::task::{Task, TaskId, ValidationError};
use crate::unique::{Claim, UniqueKey};

/// Why a task-log call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TaskLogError {
    /// The store cannot be reached right now. Transient: try again later.
    #[error("task log unavailable")]
    Unavailable(#[source] BoxError),
    /// A query argument is out of range.
    #[error("invalid query: {0}")]
    InvalidQuery(String),
    /// A stored record could not be read back.
    #[error("corrupt record for task {id}: {reason}")]
    Corrupt {
        /// The task whose record is corrupt.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// This log does not offer what was asked (for example unique keys).
    #[error("this task log does not support {0}")]
    Unsupported(&'static str),
    /// Anything else; not transient.
    #[error("task log error")]
    Other(#[source] BoxError),
    /// Another record of the same chain already has this attempt number (two retries raced
    /// and the other won): nothing was stored. Not transient.
    #[error("attempt {attempt} of task {original} already exists: {taken_by}")]
    AttemptTaken {
        /// The chain (`original_task_id`).
        original: TaskId,
        /// The attempt number asked for.
        attempt: u32,
        /// The record that has it.
        taken_by: TaskId,
    },
}

impl TaskLogError {
    /// True when the same call may succeed later.
    pub fn is_transient(&self) -> bool {
        matches!(self, TaskLogError::Unavailable(_))
    }
}

/// A change of state to record, with what came with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateChange {
    /// The task that changed.
    pub task_id: TaskId,
    /// Its new state.
    pub state: TaskState,
    /// When it changed.
    pub at: DateTime<Utc>,
    /// The failure message (failed, retry, cancelled).
    pub error: Option<String>,
    /// The handler's result (success).
    #[serde(with = "crate::task::base64_opt")]
    pub result: Option<Vec<u8>>,
    /// How long the handler ran, in seconds.
    pub duration: Option<f64>,
    /// Which worker made the change.
    pub worker: Option<String>,
    /// Set on a history note ([`TaskLog::note`]): an entry that records something that
    /// happened while the state stayed `state`, not a change of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<NoteKind>,
}

impl StateChange {
    /// A change of `task_id` to `state`, now.
    pub fn new(task_id: TaskId, state: TaskState) -> Self {
        StateChange {
            task_id,
            state,
            at: Utc::now(),
            error: None,
            result: None,
            duration: None,
            worker: None,
            note: None,
        }
    }

    /// The change that brings a record to `task` as it stands: its state, time, error, result
    /// and duration, no worker. The first history entry of a new record, and what `create`
    /// applies to a record that already exists.
    pub fn from_task(task: &Task) -> Self {
        StateChange {
            task_id: task.id,
            state: task.status,
            at: task.updated_at,
            error: task.fail_error.clone(),
            result: task.result.clone(),
            duration: task.duration,
            worker: None,
            note: None,
        }
    }

    /// With a failure message.
    #[must_use]
    pub fn error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }

    /// With the handler's result.
    #[must_use]
    pub fn result(mut self, result: Option<Vec<u8>>) -> Self {
        self.result = result;
        self
    }

    /// With the handler's run time.
    #[must_use]
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = Some(duration.as_secs_f64());
        self
    }

    /// With the worker's name.
    #[must_use]
    pub fn worker(mut self, worker: impl Into<String>) -> Self {
        self.worker = Some(worker.into());
        self
    }
}

/// What [`TaskLog::record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordOutcome {
    /// The state moved forward.
    Applied,
    /// The task was already in that state (a replay); nothing changed.
    Unchanged,
    /// The task is further along (`current`); the change was ignored.
    Stale {
        /// The state kept.
        current: TaskState,
    },
    /// No record of the task exists (expired or flushed); nothing changed.
    Missing,
}

/// Filters for [`TaskLog::list`]; empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFilter {
    /// Any of these states.
    pub statuses: Vec<TaskState>,
    /// This exact name.
    pub name: Option<String>,
    /// This exact primary key.
    pub primary_key: Option<String>,
    /// Attempts of this original task (including the first).
    pub original_task_id: Option<TaskId>,
    /// Created at or after.
    pub created_from: Option<DateTime<Utc>>,
    /// Created before.
    pub created_to: Option<DateTime<Utc>>,
}

impl TaskFilter {
    /// Checks what no task could match and some backend could not even search for: a name or
    /// primary key holding a control character (NUL among them: PostgreSQL cannot store it),
    /// and a reversed range (`created_to` before `created_from`). Every log calls it first in
    /// `list`, so each refuses the same filters.
    ///
    /// # Errors
    /// [`TaskLogError::InvalidQuery`] naming the field.
    pub fn validate(&self) -> Result<(), TaskLogError> {
        for (field, value) in [("name", &self.name), ("primary_key", &self.primary_key)] {
            if value
                .as_ref()
                .is_some_and(|v| v.chars().any(char::is_control))
            {
                return Err(TaskLogError::InvalidQuery(format!(
                    "{field} contains a control character"
                )));
            }
        }
        if let (Some(from), Some(to)) = (self.created_from, self.created_to)
            && to < from
        {
            return Err(TaskLogError::InvalidQuery(
                "created_to is before created_from".into(),
            ));
        }
        Ok(())
    }

    /// True when `task` passes the filter (for backends that filter in memory, and for tests).
    pub fn matches(&self, task: &Task) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&task.status))
            && self.name.as_ref().is_none_or(|n| *n == task.name)
            && self
                .primary_key
                .as_ref()
                .is_none_or(|k| task.primary_key.as_ref() == Some(k))
            && self
                .original_task_id
                .is_none_or(|o| o == task.original_task_id)
            && self.created_from.is_none_or(|from| task.created_at >= from)
            && self.created_to.is_none_or(|to| task.created_at < to)
    }
}

/// A position in a listing: lists run newest first, and the cursor is the id of the last
/// task returned (ids are UUID v7, so they sort by creation time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cursor(pub TaskId);

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for Cursor {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Cursor)
    }
}

/// Which page of a listing to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// Tasks per page, 1 to [`PageRequest::MAX_LIMIT`].
    pub limit: u32,
    /// Continue after this position; `None` starts from the newest task.
    pub after: Option<Cursor>,
}

impl PageRequest {
    /// The largest page.
    pub const MAX_LIMIT: u32 = 1000;

    /// The first page of `limit` tasks (clamped to 1..=MAX_LIMIT).
    pub fn first(limit: u32) -> Self {
        PageRequest {
            limit: limit.clamp(1, Self::MAX_LIMIT),
            after: None,
        }
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest::first(50)
    }
}

/// One page of tasks, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    /// The tasks.
    pub items: Vec<Task>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<Cursor>,
}

/// Counts per state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCounts(pub BTreeMap<TaskState, u64>);

impl StatusCounts {
    /// Tasks in `state`.
    pub fn get(&self, state: TaskState) -> u64 {
        self.0.get(&state).copied().unwrap_or(0)
    }

    /// Adds `n` tasks in `state`.
    pub fn add(&mut self, state: TaskState, n: u64) {
        *self.0.entry(state).or_insert(0) += n;
    }

    /// All tasks counted.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }
}

/// What [`TaskLog::counts`] counts: tasks created in `[from, to)`, split into buckets of
/// `bucket` (one bucket when `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountQuery {
    /// Start of the range.
    pub from: DateTime<Utc>,
    /// End of the range (exclusive).
    pub to: DateTime<Utc>,
    /// Bucket width.
    pub bucket: Option<Duration>,
}

impl CountQuery {
    /// Most buckets one query may ask for.
    pub const MAX_BUCKETS: i64 = 10_000;

    /// Every task ever created, in one bucket.
    pub fn all() -> Self {
        CountQuery {
            from: DateTime::<Utc>::MIN_UTC,
            to: DateTime::<Utc>::MAX_UTC,
            bucket: None,
        }
    }

    /// Checks the range and bucket count.
    ///
    /// # Errors
    /// [`TaskLogError::InvalidQuery`] when `to` is before `from`, the bucket is zero, or there
    /// would be more than [`CountQuery::MAX_BUCKETS`] buckets.
    pub fn validate(&self) -> Result<(), TaskLogError> {
        if self.to < self.from {
            return Err(TaskLogError::InvalidQuery(
                "end of range is before its start".into(),
            ));
        }
        if let Some(bucket) = self.bucket {
            let ms = i64::try_from(bucket.as_millis()).unwrap_or(i64::MAX);
            if ms == 0 {
                return Err(TaskLogError::InvalidQuery(
                    "bucket width must be greater than zero".into(),
                ));
            }
            let span = (self.to - self.from).num_milliseconds();
            if span / ms >= Self::MAX_BUCKETS {
                return Err(TaskLogError::InvalidQuery(format!(
                    "range holds more than {} buckets; widen the bucket",
                    Self::MAX_BUCKETS
                )));
            }
        }
        Ok(())
    }

    /// The start of the bucket that `at` falls in.
    pub fn bucket_start(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        match self.bucket {
            None => self.from,
            Some(bucket) => {
                let ms = i64::try_from(bucket.as_millis()).unwrap_or(i64::MAX).max(1);
                let offset = (at - self.from).num_milliseconds().max(0);
                self.from + chrono::Duration::milliseconds(offset - offset % ms)
            }
        }
    }
}

/// Counts for one time bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketCount {
    /// Start of the bucket.
    pub start: DateTime<Utc>,
    /// Tasks created in it, per current state.
    pub counts: StatusCounts,
}

/// Records every task's life and answers questions about it.
///
/// Writes are idempotent and monotonic: applying the same change twice, or an older change
/// after a newer one, never moves a task backwards (see [`TaskState::transition_to`]).
#[async_trait]
pub trait TaskLog: Send + Sync + fmt::Debug {
    /// Stores a new task record in `task.status`. If a record with this id exists, the
    /// stored state only moves forward (as with [`TaskLog::record`]).
    ///
    /// A chain's attempt numbers are unique, atomically: when another record of the chain
    /// (same `original_task_id`) already has `task.attempt`, nothing is stored, so of two
    /// retries that race to create attempt N + 1 exactly one is created.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached;
    /// [`TaskLogError::AttemptTaken`] naming the record that has this attempt number.
    async fn create(&self, task: &Task) -> Result<(), TaskLogError>;

    /// Stores a new task holding `key`, as one atomic step of the log: if a live task holds
    /// the key (one held "until finished" whose release has not happened, or one whose hold
    /// time has not run out by the log's clock), nothing is written and the holder is
    /// returned; otherwise the key is (re)claimed for `task.id` and the task is stored as
    /// with [`TaskLog::create`]. Any number of concurrent callers, in any number of
    /// processes, with one key: exactly one gets [`Claim::Created`]. The default refuses.
    ///
    /// # Errors
    /// [`TaskLogError::Unsupported`] for a log without unique keys;
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn create_unique(&self, task: &Task, key: &UniqueKey) -> Result<Claim, TaskLogError> {
        let _ = (task, key);
        Err(TaskLogError::Unsupported("unique keys"))
    }

    /// Releases a key held "until finished" by `holder` (the first attempt's id), when its
    /// chain of attempts ended. Only the holder's own claim goes: a key that expired and was
    /// claimed again by another task, or one held for a fixed time, is left alone. Releasing
    /// a key that is not held is a no-op. The default has nothing to release.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn release_unique(&self, key: &str, holder: TaskId) -> Result<(), TaskLogError> {
        let _ = (key, holder);
        Ok(())
    }

    /// Applies a state change under the transition rule, and appends it to the history.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn record(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError>;

    /// Records a change that is not an outcome (a task was queued, or starts), with the answer
    /// [`TaskLog::record`] gives, and a read of this task through this log sees it at once. A
    /// log in tiers may answer from its fast tier and write the durable one with
    /// [`TaskLog::record_behind`]. The default is [`TaskLog::record`].
    ///
    /// # Errors
    /// As [`TaskLog::record`].
    async fn record_transient(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        self.record(change).await
    }

    /// Records a change whose outcome the caller does not need: the log may hold it back for
    /// a short, bounded time and apply it together with a later change of the same task (one
    /// row written instead of two, both kept in the history). A held change is applied under
    /// the same rule, in order with the task's later changes, and at the latest when its time
    /// is up or on [`TaskLog::flush`]; it is lost only if the process dies first. The default
    /// applies it at once.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the change cannot even be queued.
    async fn record_behind(&self, change: &StateChange) -> Result<(), TaskLogError> {
        self.record(change).await.map(drop)
    }

    /// Applies every change held back by [`TaskLog::record_behind`] and waits for it. Clients
    /// and workers call it when they close. The default has nothing to do.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when held changes could not be applied.
    async fn flush(&self) -> Result<(), TaskLogError> {
        Ok(())
    }

    /// Appends `note` to the task's history, with the state the task is in, without changing
    /// the record. A task keeps at most [`HistoryNote::MAX_PER_TASK`] notes: past that, notes
    /// are dropped. A log that holds changes back ([`TaskLog::record_behind`]) applies them
    /// first, so the note follows them in the history.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn note(&self, note: &HistoryNote) -> Result<NoteOutcome, TaskLogError>;

    /// The task with this id, if recorded.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn get(&self, id: TaskId) -> Result<Option<Task>, TaskLogError>;

    /// Tasks matching `filter`, newest first, one page at a time.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn list(&self, filter: &TaskFilter, page: PageRequest) -> Result<Page, TaskLogError>;

    /// Tasks created in the query's range, per current state, per bucket (only buckets with
    /// at least one task are returned, oldest first).
    ///
    /// # Errors
    /// [`TaskLogError::InvalidQuery`] for a bad range; [`TaskLogError::Unavailable`].
    async fn counts(&self, query: &CountQuery) -> Result<Vec<BucketCount>, TaskLogError>;

    /// Every recorded change of the task, oldest first, with its notes (entries whose
    /// [`StateChange::note`] is set) in between.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn history(&self, id: TaskId) -> Result<Vec<StateChange>, TaskLogError>;

    /// Deletes records of tasks created before `cutoff` that are in a final state, unless an
    /// attempt of the same chain (same `original_task_id`) has not finished; returns how many
    /// were deleted.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<u64, TaskLogError>;

    /// The re-enqueue ability, for durable logs that support it.
    fn outbox(&self) -> Option<&dyn crate::outbox::Outbox> {
        None
    }

    /// The worker-heartbeat ability, for logs that support it.
    fn worker_registry(&self) -> Option<&dyn crate::workers::WorkerRegistry> {
        None
    }

    /// The dead-letter ability, for logs that support it.
    fn dead_letter_store(&self) -> Option<&dyn crate::dead_letters::DeadLetterStore> {
        None
    }

    /// The schedule ability (periodic tasks, leader lease, slot claims), for logs that
    /// support it.
    fn schedule_store(&self) -> Option<&dyn crate::schedule::ScheduleStore> {
        None
    }

    /// The queue-pause ability (which named queues deliver nothing), for logs that support it.
    fn queue_pauses(&self) -> Option<&dyn crate::queue_pause::QueuePauses> {
        None
    }

    /// The rate and concurrency limit ability, for logs that support it.
    fn limit_store(&self) -> Option<&dyn crate::limits::LimitStore> {
        None
    }

    /// The (at most) `limit` oldest tasks matching `filter`, oldest first — for example the
    /// oldest queued task, whose age the API exports as a metric. The default pages through
    /// [`TaskLog::list`] to the end; logs that can read in ascending order should override it.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn oldest(&self, filter: &TaskFilter, limit: u32) -> Result<Vec<Task>, TaskLogError> {
        let keep = limit.clamp(1, PageRequest::MAX_LIMIT) as usize;
        let mut kept = std::collections::VecDeque::with_capacity(keep + 1);
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let got = self.list(filter, page).await?;
            let empty = got.items.is_empty();
            for task in got.items {
                kept.push_back(task);
                if kept.len() > keep {
                    kept.pop_front();
                }
            }
            match got.next {
                Some(cursor) if !empty => page.after = Some(cursor),
                _ => break,
            }
        }
        Ok(kept.into_iter().rev().collect())
    }
}

/// The answer [`TaskLog::record`] gives for a change to `new` of a task in `current`.
pub fn record_outcome(current: TaskState, new: TaskState) -> RecordOutcome {
    match current.transition_to(new) {
        crate::state::Transition::Same => RecordOutcome::Unchanged,
        crate::state::Transition::Stale => RecordOutcome::Stale { current },
        crate::state::Transition::Advance => RecordOutcome::Applied,
    }
}

/// Applies `change` to an in-memory record under the transition rule; backends that read,
/// decide and write in one transaction use it so the rule lives in one place.
pub fn apply_change(task: &mut Task, change: &StateChange) -> RecordOutcome {
    let outcome = record_outcome(task.status, change.state);
    if outcome == RecordOutcome::Applied {
        task.status = change.state;
        task.updated_at = change.at;
        if change.error.is_some() {
            task.fail_error.clone_from(&change.error);
        }
        if change.result.is_some() {
            task.result.clone_from(&change.result);
        }
        if change.duration.is_some() {
            task.duration = change.duration;
        }
    }
    outcome
}
