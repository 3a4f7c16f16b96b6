//! The [`Outbox`] ability of a durable task log: find tasks that were accepted (`initiated`)
//! but never reached the broker, so a client can publish them once the broker is back — the
//! seed's re-enqueue. Claims are leased, so several clients recovering at once publish each
//! task exactly once.

use std::time::Duration;

use async_trait::async_trait;

use crate::task::Task;
use crate::task_log::TaskLogError;

/// Claims accepted-but-unpublished tasks for re-enqueue (optional [`crate::TaskLog`] ability).
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Claims up to `limit` tasks whose state is still `initiated`, recorded at least
    /// `min_age` ago, and not claimed by anyone in the last `lease`. Claimed tasks are
    /// invisible to other callers until the lease runs out; publishing them and recording
    /// `queued`/`scheduled` ends the claim. Tasks in any other state are never returned.
    ///
    /// Age is measured by the log's own clock from when it recorded the task (the database
    /// server's clock for a shared log), never from `Task::created_at`, which the sending
    /// client's clock wrote: a client whose clock runs behind would make its tasks look old
    /// while they are still being sent (and publish them twice), one whose clock runs ahead
    /// would delay their re-enqueue by the skew.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn claim_unpublished(
        &self,
        min_age: Duration,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Task>, TaskLogError>;
}
