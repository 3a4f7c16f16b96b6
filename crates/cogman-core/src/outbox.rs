//! The [`Outbox`] ability of a durable task log: find tasks that were accepted (`initiated`)
//! but never reached the broker, so a client can publish them once the broker is back — the
//! seed's re-enqueue. Claims are leased, so several clients recovering at once publish each
//! task exactly once.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::task::Task;
use crate::task_log::TaskLogError;

/// Claims accepted-but-unpublished tasks for re-enqueue (optional [`crate::TaskLog`] ability).
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Claims up to `limit` tasks whose state is still `initiated`, created before
    /// `created_before`, and not claimed by anyone in the last `lease`. Claimed tasks are
    /// invisible to other callers until the lease runs out; publishing them and recording
    /// `queued`/`scheduled` ends the claim. Tasks in any other state are never returned.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn claim_unpublished(
        &self,
        created_before: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Task>, TaskLogError>;
}
