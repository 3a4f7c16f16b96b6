//! The [`TaskLog`] side of [`PostgresLog`]: writes pass the schema gate, then go through the
//! group-commit writer; reads of one task are in `read` (overlaid with the changes this
//! process holds back), listing in `list`, counting in `counts`, purging in `purge`, unique
//! keys in `unique`, each
//! working on the log's [`Db`](crate::db::Db).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{
    BucketCount, Claim, CountQuery, HistoryNote, NoteOutcome, Outbox, Page, PageRequest,
    RecordOutcome, StateChange, Task, TaskFilter, TaskId, TaskLog, TaskLogError, UniqueKey,
    WorkerRegistry,
};

use crate::log::PostgresLog;
use crate::{counts, list, note, purge, read, unique};

#[async_trait]
impl TaskLog for PostgresLog {
    async fn create(&self, task: &Task) -> Result<(), TaskLogError> {
        self.db().ready().await?;
        self.writer().create(task).await
    }

    async fn create_unique(&self, task: &Task, key: &UniqueKey) -> Result<Claim, TaskLogError> {
        unique::create_unique(self.db(), task, key).await
    }

    async fn release_unique(&self, key: &str, holder: TaskId) -> Result<(), TaskLogError> {
        unique::release_unique(self.db(), key, holder).await
    }

    async fn record(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        self.db().ready().await?;
        self.writer().record(change).await
    }

    async fn record_behind(&self, change: &StateChange) -> Result<(), TaskLogError> {
        self.db().ready().await?;
        self.writer().record_behind(change).await
    }

    async fn flush(&self) -> Result<(), TaskLogError> {
        self.writer().flush().await
    }

    async fn note(&self, note: &HistoryNote) -> Result<NoteOutcome, TaskLogError> {
        self.db().ready().await?;
        self.writer().flush().await?;
        note::note(self.db(), note).await
    }

    async fn get(&self, id: TaskId) -> Result<Option<Task>, TaskLogError> {
        let Some(mut task) = read::get(self.db(), id).await? else {
            return Ok(None);
        };
        self.writer().overlay(&mut task);
        Ok(Some(task))
    }

    async fn list(&self, filter: &TaskFilter, page: PageRequest) -> Result<Page, TaskLogError> {
        list::list(self.db(), filter, page).await
    }

    async fn oldest(&self, filter: &TaskFilter, limit: u32) -> Result<Vec<Task>, TaskLogError> {
        list::oldest(self.db(), filter, limit).await
    }

    async fn counts(&self, query: &CountQuery) -> Result<Vec<BucketCount>, TaskLogError> {
        counts::counts(self.db(), query).await
    }

    async fn history(&self, id: TaskId) -> Result<Vec<StateChange>, TaskLogError> {
        read::history(self.db(), id).await
    }

    async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<u64, TaskLogError> {
        purge::purge_before(self.db(), cutoff).await
    }

    fn outbox(&self) -> Option<&dyn Outbox> {
        Some(self)
    }

    fn worker_registry(&self) -> Option<&dyn WorkerRegistry> {
        Some(self)
    }

    fn dead_letter_store(&self) -> Option<&dyn cogman_core::DeadLetterStore> {
        Some(self)
    }

    fn schedule_store(&self) -> Option<&dyn cogman_core::ScheduleStore> {
        Some(self)
    }

    fn queue_pauses(&self) -> Option<&dyn cogman_core::QueuePauses> {
        Some(self)
    }

    fn limit_store(&self) -> Option<&dyn cogman_core::LimitStore> {
        Some(self)
    }
}
