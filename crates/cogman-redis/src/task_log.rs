//! The [`TaskLog`] side of [`RedisLog`]: writes go through the group-commit writer; reads of
//! one task are in `read`, listing in `list`, counting in `counts`, purging in `purge`, each
//! working on the log's [`Namespace`](crate::namespace::Namespace).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{
    BucketCount, Claim, CountQuery, HistoryNote, NoteOutcome, Page, PageRequest, RecordOutcome,
    StateChange, Task, TaskFilter, TaskId, TaskLog, TaskLogError, UniqueKey, WorkerRegistry,
};

use crate::log::RedisLog;
use crate::{attempts, counts, list, note, purge, read, unique};

#[async_trait]
impl TaskLog for RedisLog {
    async fn create(&self, task: &Task) -> Result<(), TaskLogError> {
        attempts::claim(self.namespace(), task, self.ttl_secs()).await?;
        self.writer().create(task).await
    }

    async fn create_unique(&self, task: &Task, key: &UniqueKey) -> Result<Claim, TaskLogError> {
        unique::create_unique(self, task, key).await
    }

    async fn release_unique(&self, key: &str, holder: TaskId) -> Result<(), TaskLogError> {
        unique::release_unique(self, key, holder).await
    }

    async fn record(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        self.writer().record(change).await
    }

    async fn note(&self, note: &HistoryNote) -> Result<NoteOutcome, TaskLogError> {
        note::note(self.namespace(), note).await
    }

    async fn get(&self, id: TaskId) -> Result<Option<Task>, TaskLogError> {
        read::get(self.namespace(), id).await
    }

    async fn list(&self, filter: &TaskFilter, page: PageRequest) -> Result<Page, TaskLogError> {
        list::list(self.namespace(), filter, page).await
    }

    async fn oldest(&self, filter: &TaskFilter, limit: u32) -> Result<Vec<Task>, TaskLogError> {
        list::oldest(self.namespace(), filter, limit).await
    }

    async fn counts(&self, query: &CountQuery) -> Result<Vec<BucketCount>, TaskLogError> {
        counts::counts(self.namespace(), query).await
    }

    async fn history(&self, id: TaskId) -> Result<Vec<StateChange>, TaskLogError> {
        read::history(self.namespace(), id, self.history_limit()).await
    }

    async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<u64, TaskLogError> {
        purge::purge_before(self.namespace(), cutoff).await
    }

    fn worker_registry(&self) -> Option<&dyn WorkerRegistry> {
        Some(self)
    }

    fn schedule_store(&self) -> Option<&dyn cogman_core::ScheduleStore> {
        Some(self)
    }

    fn dead_letter_store(&self) -> Option<&dyn cogman_core::DeadLetterStore> {
        Some(self)
    }

    fn queue_pauses(&self) -> Option<&dyn cogman_core::QueuePauses> {
        Some(self)
    }

    fn limit_store(&self) -> Option<&dyn cogman_core::LimitStore> {
        Some(self)
    }
}
