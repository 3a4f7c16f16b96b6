//! The [`QueuePauses`] ability of a task log: which named queues are paused. A paused queue
//! keeps accepting tasks, but no worker takes any from it until it is resumed. The flag lives
//! in the log every worker and `cogman serve` share, so it survives their restarts.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::task_log::TaskLogError;

/// A named queue that is paused, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PausedQueue {
    /// The named queue.
    pub queue: String,
    /// When it was paused.
    pub since: DateTime<Utc>,
}

/// Stores which named queues are paused (optional ability of a task log).
#[async_trait]
pub trait QueuePauses: Send + Sync {
    /// Pauses (`true`) or resumes (`false`) the named queue `queue`. Pausing a paused queue
    /// keeps its first `since`; resuming a queue that is not paused does nothing. True when
    /// the call changed something.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn set_queue_paused(&self, queue: &str, paused: bool) -> Result<bool, TaskLogError>;

    /// Every paused queue, by name.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`]; [`TaskLogError::Corrupt`] for an unreadable record.
    async fn paused_queues(&self) -> Result<Vec<PausedQueue>, TaskLogError>;
}
