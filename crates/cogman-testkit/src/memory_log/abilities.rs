//! The optional abilities of [`MemoryLog`]: the [`Outbox`] (tasks still `initiated` after
//! `min_age`, leased to one claimer at a time) and the [`WorkerRegistry`] (latest heartbeat
//! per worker).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{Outbox, Task, TaskLogError, TaskState, WorkerInfo, WorkerRegistry};

use super::MemoryLog;

#[async_trait]
impl Outbox for MemoryLog {
    async fn claim_unpublished(
        &self,
        min_age: Duration,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Task>, TaskLogError> {
        let mut state = self.state();
        let now = Instant::now();
        let claimable: Vec<Task> = state
            .tasks
            .keys()
            // A task with a held `queued` change was published: read it as readers do.
            .filter_map(|id| state.read(*id))
            .filter(|t| t.status == TaskState::Initiated)
            .filter(|t| {
                state
                    .recorded
                    .get(&t.id)
                    .is_some_and(|at| now.duration_since(*at) >= min_age)
            })
            .filter(|t| state.claims.get(&t.id).is_none_or(|until| *until <= now))
            .take(limit as usize)
            .collect();
        for task in &claimable {
            state.claims.insert(task.id, now + lease);
        }
        Ok(claimable)
    }
}

#[async_trait]
impl WorkerRegistry for MemoryLog {
    async fn heartbeat(&self, info: &WorkerInfo) -> Result<(), TaskLogError> {
        self.state().workers.insert(info.id.clone(), info.clone());
        Ok(())
    }

    async fn deregister(&self, worker_id: &str) -> Result<(), TaskLogError> {
        self.state().workers.remove(worker_id);
        Ok(())
    }

    async fn workers(&self, since: DateTime<Utc>) -> Result<Vec<WorkerInfo>, TaskLogError> {
        Ok(self
            .state()
            .workers
            .values()
            .filter(|w| w.last_heartbeat >= since)
            .cloned()
            .collect())
    }
}
