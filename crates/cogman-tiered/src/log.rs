//! The [`TaskLog`] side of [`TieredLog`]: writes go to the durable log first, then to the hot
//! log (a miss queues a repair; unique keys are the durable log's alone); changes that are not outcomes are answered by the hot log and
//! held back by the durable one; `get` prefers the hot log; everything else is durable.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{
    BucketCount, Claim, CountQuery, HistoryNote, NoteOutcome, Outbox, Page, PageRequest,
    RecordOutcome, StateChange, Task, TaskFilter, TaskId, TaskLog, TaskLogError, UniqueKey,
    WorkerRegistry,
};

use crate::tiered::TieredLog;

#[async_trait]
impl TaskLog for TieredLog {
    async fn create(&self, task: &Task) -> Result<(), TaskLogError> {
        self.durable().create(task).await?;
        if self
            .hot_call("create", self.hot().create(task))
            .await
            .is_none()
        {
            self.repair(task.id);
        }
        Ok(())
    }

    /// The durable log alone decides who holds a key; the hot log gets the record as with
    /// `create`.
    async fn create_unique(&self, task: &Task, key: &UniqueKey) -> Result<Claim, TaskLogError> {
        let claim = self.durable().create_unique(task, key).await?;
        if claim == Claim::Created
            && self
                .hot_call("create", self.hot().create(task))
                .await
                .is_none()
        {
            self.repair(task.id);
        }
        Ok(claim)
    }

    async fn release_unique(&self, key: &str, holder: TaskId) -> Result<(), TaskLogError> {
        self.durable().release_unique(key, holder).await
    }

    async fn record(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        let outcome = self.durable().record(change).await?;
        if outcome == RecordOutcome::Missing {
            return Ok(outcome);
        }
        match self.hot_call("record", self.hot().record(change)).await {
            // Skipped or failed, or the hot record expired or was lost: seed it again from
            // the durable one.
            None | Some(RecordOutcome::Missing) => self.repair(change.task_id),
            Some(_) => {}
        }
        Ok(outcome)
    }

    async fn record_transient(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        if self.hot_is_current() {
            match self.hot_call("record", self.hot().record(change)).await {
                Some(RecordOutcome::Missing) | None => {}
                Some(outcome) => {
                    self.durable().record_behind(change).await?;
                    return Ok(outcome);
                }
            }
        }
        self.record(change).await
    }

    async fn record_behind(&self, change: &StateChange) -> Result<(), TaskLogError> {
        self.record_transient(change).await.map(drop)
    }

    async fn flush(&self) -> Result<(), TaskLogError> {
        self.durable().flush().await
    }

    /// The history is the durable log's, so its notes are too.
    async fn note(&self, note: &HistoryNote) -> Result<NoteOutcome, TaskLogError> {
        self.durable().note(note).await
    }

    async fn get(&self, id: TaskId) -> Result<Option<Task>, TaskLogError> {
        if let Some(Some(task)) = self.hot_call("get", self.hot().get(id)).await {
            return Ok(Some(task));
        }
        self.durable().get(id).await
    }

    async fn list(&self, filter: &TaskFilter, page: PageRequest) -> Result<Page, TaskLogError> {
        self.durable().list(filter, page).await
    }

    async fn oldest(&self, filter: &TaskFilter, limit: u32) -> Result<Vec<Task>, TaskLogError> {
        self.durable().oldest(filter, limit).await
    }

    async fn counts(&self, query: &CountQuery) -> Result<Vec<BucketCount>, TaskLogError> {
        self.durable().counts(query).await
    }

    async fn history(&self, id: TaskId) -> Result<Vec<StateChange>, TaskLogError> {
        self.durable().history(id).await
    }

    async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<u64, TaskLogError> {
        let purged = self.durable().purge_before(cutoff).await?;
        if let Err(error) = self.hot().purge_before(cutoff).await {
            tracing::warn!(%error, "purging the hot task log failed; its records expire on their own");
        }
        Ok(purged)
    }

    fn outbox(&self) -> Option<&dyn Outbox> {
        self.durable().outbox().map(|_| self as &dyn Outbox)
    }

    fn worker_registry(&self) -> Option<&dyn WorkerRegistry> {
        self.durable().worker_registry()
    }

    fn dead_letter_store(&self) -> Option<&dyn cogman_core::DeadLetterStore> {
        self.durable().dead_letter_store()
    }

    /// Schedules, leases and slot claims live in the durable log (PostgreSQL).
    fn schedule_store(&self) -> Option<&dyn cogman_core::ScheduleStore> {
        self.durable().schedule_store()
    }

    /// Paused queues live in the durable log (PostgreSQL), so a Redis flush resumes nothing.
    fn queue_pauses(&self) -> Option<&dyn cogman_core::QueuePauses> {
        self.durable().queue_pauses()
    }

    /// Limits and their buckets live in the durable log (PostgreSQL), with the pauses.
    fn limit_store(&self) -> Option<&dyn cogman_core::LimitStore> {
        self.durable().limit_store()
    }
}
