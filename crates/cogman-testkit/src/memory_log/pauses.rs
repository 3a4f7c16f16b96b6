//! The [`QueuePauses`] ability of [`MemoryLog`]: a map of paused queue → since.

use async_trait::async_trait;
use chrono::Utc;
use cogman_core::{PausedQueue, QueuePauses, TaskLogError};

use super::MemoryLog;

#[async_trait]
impl QueuePauses for MemoryLog {
    async fn set_queue_paused(&self, queue: &str, paused: bool) -> Result<bool, TaskLogError> {
        let mut state = self.state();
        Ok(if paused {
            if state.paused_queues.contains_key(queue) {
                false
            } else {
                state.paused_queues.insert(queue.to_owned(), Utc::now());
                true
            }
        } else {
            state.paused_queues.remove(queue).is_some()
        })
    }

    async fn paused_queues(&self) -> Result<Vec<PausedQueue>, TaskLogError> {
        Ok(self
            .state()
            .paused_queues
            .iter()
            .map(|(queue, since)| PausedQueue {
                queue: queue.clone(),
                since: *since,
            })
            .collect())
    }
}
