//! The vocabulary of cogman: what a task is, the states it moves through, what a handler
//! looks like, and the two traits every backend implements. This crate does no I/O.
//!
//! # Layout
//! - [`task`]: [`Task`] (the record), [`TaskSpec`] (what a caller sends), [`TaskId`], [`Priority`]
//!   and the input limits that reject bad tasks before anything is written.
//! - [`state`]: [`TaskState`] and the one function that decides which transitions are legal.
//! - [`handler`]: the [`Handler`] trait, [`handler_fn`] for closures, [`TaskContext`], [`Output`].
//! - [`outcome`]: [`TaskError`], whose kind decides what happens next (retry, retry later,
//!   fail, cancel).
//! - [`retry`]: [`Backoff`], exponential backoff with jitter between attempts, and
//!   [`retry_transient`], the retry loop around calls cut by a lost connection.
//! - [`broker`]: the [`Broker`] trait (publish, consume) and [`Delivery`], whose ack, requeue and
//!   dead-letter methods consume it so nothing is acked twice.
//! - [`task_log`]: the [`TaskLog`] trait (record a state change — at once, transient or held
//!   back — get, list, count, purge) and its typed filters and cursor paging.
//! - [`note`]: [`HistoryNote`], a history entry that is not a state change (a rerun, a wait
//!   for a handler), and the bound on how many a task keeps.
//! - [`outbox`]: the [`Outbox`] ability of durable logs (re-enqueue of tasks accepted while the
//!   broker was unreachable).
//! - [`unique`]: [`UniqueKey`] and [`Claim`], what a send with a unique key asks of the log.
//! - [`workers`]: the [`WorkerRegistry`] ability (worker heartbeats).
//! - [`schedule`]: periodic tasks ([`Schedule`], [`Timing`]) and the [`ScheduleStore`] ability
//!   (schedules, the scheduler's leader lease, one claim per slot).
//! - [`workflow`]: the links that tie tasks of a chain, group or chord together.
//! - [`redact`]: [`redact_uri`], which hides passwords in connection URIs.
//! - [`group_commit`]: [`run_batches`], the batching loop of the log backends' background
//!   writers, and its [`GroupCommit`] settings.
//! - [`background`]: [`spawn_retrying`], the loop that retries a first connection or a migration
//!   in the background for as long as its owner lives.
//!
//! No lapin, redis, rusqlite or sqlx type appears here: backends live in their own crates.

pub mod background;
pub mod broker;
pub mod dead_letters;
pub mod group_commit;
pub mod handler;
pub mod limits;
pub mod note;
pub mod outbox;
pub mod outcome;
pub mod queue_pause;
pub mod redact;
pub mod retry;
pub mod schedule;
pub mod state;
pub mod task;
pub mod task_log;
pub mod trace;
pub mod unique;
pub mod workers;
pub mod workflow;

pub use background::{Retry, spawn_retrying};
pub use broker::{
    BoxError, Broker, BrokerError, CollectedDeadLetter, ConsumeOptions, Consumer, DeadLetterFeed,
    Delivery, DeliveryHandle, HandlerWait, QueueStats, QueueStatsSource,
};
pub use dead_letters::{DeadLetter, DeadLetterPage, DeadLetterStore, NewDeadLetter};
pub use group_commit::{GroupCommit, Weighed, run_batches};
pub use handler::{Handler, HandlerFn, Output, TaskContext, handler_fn};
pub use limits::{Admission, LimitError, LimitStore, Rate, TaskLimit, WaitReason};
pub use note::{HistoryNote, NoteKind, NoteOutcome, UnknownNoteKind};
pub use outbox::Outbox;
pub use outcome::{Disposition, TaskError};
pub use queue_pause::{PausedQueue, QueuePauses};
pub use redact::redact_uri;
pub use retry::{Backoff, retry_transient};
pub use schedule::{
    LastRun, MissedSlots, Schedule, ScheduleError, ScheduleRecord, ScheduleStore, ScheduledTask,
    Timing,
};
pub use state::{TaskState, Transition};
pub use task::{
    DEFAULT_QUEUE, Limits, MAX_QUEUE_NAME_BYTES, Priority, Task, TaskId, TaskSpec, ValidationError,
    default_queue, validate_queue_name,
};
pub use task_log::{
    BucketCount, CountQuery, Cursor, Page, PageRequest, RecordOutcome, StateChange, StatusCounts,
    TaskFilter, TaskLog, TaskLogError, apply_change, record_outcome,
};
pub use trace::{SpanId, TraceContext, TraceId};
pub use unique::{Claim, UniqueKey, validate_unique};
pub use workers::{WorkerInfo, WorkerRegistry};
pub use workflow::WorkflowLink;
