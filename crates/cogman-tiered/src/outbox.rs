//! The [`Outbox`] side of [`TieredLog`]: the durable log's outbox, filtered by what the hot log
//! knows.

use std::time::Duration;

use async_trait::async_trait;
use cogman_core::{Outbox, StateChange, Task, TaskLogError, TaskState};

use crate::tiered::TieredLog;

/// The durable log's outbox, minus the tasks the hot log shows published: their `queued`
/// state reaches the durable log up to the merge window after the hot one
/// ([`TaskLog::record_transient`]), and not at all if their sender died in between. Such a
/// task's state is written to the durable log instead of handing it out to be published again.
#[async_trait]
impl Outbox for TieredLog {
    async fn claim_unpublished(
        &self,
        min_age: Duration,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Task>, TaskLogError> {
        let Some(outbox) = self.durable().outbox() else {
            return Ok(Vec::new());
        };
        let claimed = outbox.claim_unpublished(min_age, limit, lease).await?;
        let mut unpublished = Vec::with_capacity(claimed.len());
        for task in claimed {
            let hot = self
                .hot_call("get", self.hot().get(task.id))
                .await
                .flatten();
            match hot.map(|hot| hot.status) {
                Some(state) if state != TaskState::Initiated => {
                    let change = StateChange::new(task.id, state);
                    if let Err(error) = self.durable().record(&change).await {
                        tracing::warn!(task_id = %task.id, %error, "could not write a published task's state");
                    }
                    tracing::info!(task_id = %task.id, %state, "outbox task was already published");
                }
                _ => unpublished.push(task),
            }
        }
        Ok(unpublished)
    }
}
