//! The [`TaskLog`] side of [`SqliteStore`]: writes go through the writer's group transaction,
//! reads through the reader connection. The SQL lives in [`write`], [`read`] and `unique`, the
//! row mapping in [`row`], the optional abilities in [`outbox`], [`workers`], [`dead_letters`]
//! and [`schedules`].

pub(crate) mod dead_letters;
mod limits;
mod outbox;
mod pauses;
pub(crate) mod read;
pub(crate) mod row;
mod schedules;
mod unique;
mod workers;
pub(crate) mod write;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{
    BucketCount, Claim, CountQuery, HistoryNote, NoteOutcome, Outbox, Page, PageRequest,
    RecordOutcome, ScheduleStore, StateChange, Task, TaskFilter, TaskId, TaskLog, TaskLogError,
    UniqueKey, WorkerRegistry,
};

use crate::store::SqliteStore;
use crate::time::to_ns;

#[async_trait]
impl TaskLog for SqliteStore {
    async fn create(&self, task: &Task) -> Result<(), TaskLogError> {
        let task = task.clone();
        Ok(self
            .writer()
            .run(move |conn| write::create(conn, &task))
            .await?)
    }

    async fn create_unique(&self, task: &Task, key: &UniqueKey) -> Result<Claim, TaskLogError> {
        let (task, key) = (task.clone(), key.clone());
        Ok(self
            .writer()
            .run(move |conn| unique::create_unique(conn, &task, &key))
            .await?)
    }

    async fn release_unique(&self, key: &str, holder: TaskId) -> Result<(), TaskLogError> {
        let key = key.to_owned();
        Ok(self
            .writer()
            .run(move |conn| unique::release_unique(conn, &key, holder))
            .await?)
    }

    async fn record(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        let change = change.clone();
        Ok(self
            .writer()
            .run(move |conn| write::record(conn, &change))
            .await?)
    }

    async fn note(&self, note: &HistoryNote) -> Result<NoteOutcome, TaskLogError> {
        let note = note.clone();
        Ok(self
            .writer()
            .run(move |conn| write::note(conn, &note))
            .await?)
    }

    async fn get(&self, id: TaskId) -> Result<Option<Task>, TaskLogError> {
        Ok(self.reader().run(move |conn| read::get(conn, id)).await?)
    }

    async fn list(&self, filter: &TaskFilter, page: PageRequest) -> Result<Page, TaskLogError> {
        filter.validate()?;
        let filter = filter.clone();
        Ok(self
            .reader()
            .run(move |conn| read::list(conn, &filter, page))
            .await?)
    }

    async fn oldest(&self, filter: &TaskFilter, limit: u32) -> Result<Vec<Task>, TaskLogError> {
        filter.validate()?;
        let filter = filter.clone();
        Ok(self
            .reader()
            .run(move |conn| read::oldest(conn, &filter, limit))
            .await?)
    }

    async fn counts(&self, query: &CountQuery) -> Result<Vec<BucketCount>, TaskLogError> {
        query.validate()?;
        let query = query.clone();
        Ok(self
            .reader()
            .run(move |conn| read::counts(conn, &query))
            .await?)
    }

    async fn history(&self, id: TaskId) -> Result<Vec<StateChange>, TaskLogError> {
        Ok(self
            .reader()
            .run(move |conn| read::history(conn, id))
            .await?)
    }

    async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<u64, TaskLogError> {
        let cutoff = to_ns(cutoff);
        Ok(self
            .writer()
            .run(move |conn| write::purge_before(conn, cutoff))
            .await?)
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

    fn schedule_store(&self) -> Option<&dyn ScheduleStore> {
        Some(self)
    }

    fn queue_pauses(&self) -> Option<&dyn cogman_core::QueuePauses> {
        Some(self)
    }

    fn limit_store(&self) -> Option<&dyn cogman_core::LimitStore> {
        Some(self)
    }
}
