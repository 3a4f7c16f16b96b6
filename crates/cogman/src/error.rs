//! [`Error`]: every way a cogman library call can fail, with the backend's typed error kept as
//! the source.

use cogman_core::{BrokerError, ScheduleError, TaskLogError, ValidationError};

use crate::config::ConfigError;

/// A failed cogman call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration cannot work.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The task (or a name) was refused; nothing was written.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// A handler is already registered under this name.
    #[error("a handler is already registered for task name {0:?}")]
    DuplicateHandler(String),
    /// No handler is registered under this name (checked where the registry is known).
    #[error("no handler is registered for task name {0:?}")]
    UnknownTask(String),
    /// The broker failed.
    #[error(transparent)]
    Broker(#[from] BrokerError),
    /// The task log failed.
    #[error(transparent)]
    TaskLog(#[from] TaskLogError),
    /// A backend could not be opened or connected.
    #[error("cannot open {backend}")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// Why (the backend's own typed error).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The worker was stopped; a stopped worker cannot start again (make a new one).
    #[error("a stopped worker cannot start again")]
    WorkerStopped,
    /// The task does not exist.
    #[error("no task with id {0}")]
    NotFound(cogman_core::TaskId),
    /// The task cannot be cancelled or retried in its current state.
    #[error("task {id} is {state}: {action} is not possible")]
    InvalidState {
        /// The task.
        id: cogman_core::TaskId,
        /// Its state.
        state: cogman_core::TaskState,
        /// What was asked.
        action: &'static str,
    },
    /// A retry was asked while an attempt of the same task still waits or runs: a task has
    /// one live attempt at a time.
    #[error(
        "attempt {number} of this task ({attempt}) is {state}: wait for it to finish or cancel it before retrying"
    )]
    AttemptPending {
        /// The attempt that waits or runs.
        attempt: cogman_core::TaskId,
        /// Its attempt number.
        number: u32,
        /// Its state.
        state: cogman_core::TaskState,
    },
    /// A schedule was refused; nothing was stored.
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    /// No schedule has this id.
    #[error("no schedule with id {0:?}")]
    ScheduleNotFound(String),
    /// The task log keeps no schedules.
    #[error("this task log keeps no schedules")]
    SchedulesUnsupported,
    /// The task log keeps no dead letters.
    #[error("this task log keeps no dead letters")]
    DeadLettersUnsupported,
    /// The task log keeps no rate or concurrency limits.
    #[error("this task log keeps no rate or concurrency limits")]
    LimitsUnsupported,
    /// No limit is set for this task name.
    #[error("no limit for task name {0:?}")]
    LimitNotFound(String),
    /// A limit was refused; nothing was stored.
    #[error(transparent)]
    Limit(#[from] cogman_core::LimitError),
    /// The task log keeps no queue pauses.
    #[error("this task log cannot pause queues")]
    QueuePausesUnsupported,
    /// No dead letter has that id.
    #[error("no dead letter with id {0}")]
    DeadLetterNotFound(u64),
    /// The dead letter's message did not decode to a task, so there is nothing to send again.
    #[error(
        "dead letter {id} cannot be requeued: its message is not a task cogman can read ({reason}); purge it"
    )]
    DeadLetterNotRequeueable {
        /// The dead letter.
        id: u64,
        /// Why it was dead-lettered.
        reason: String,
    },
}
