//! Checks the TaskLog conformance suite itself (and its macro, from an outside crate) against a
//! small in-memory reference log that follows the trait's rules literally.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{
    BucketCount, CountQuery, Cursor, Outbox, Page, PageRequest, RecordOutcome, StateChange,
    StatusCounts, Task, TaskFilter, TaskId, TaskLog, TaskLogError, TaskState, WorkerInfo,
    WorkerRegistry, apply_change,
};

#[derive(Debug, Default)]
struct State {
    tasks: BTreeMap<TaskId, Task>,
    history: Vec<StateChange>,
    claims: HashMap<TaskId, Instant>,
    /// When each task was first recorded, by this log's clock (outbox ages).
    recorded: HashMap<TaskId, Instant>,
    workers: HashMap<String, WorkerInfo>,
}

/// The reference log.
#[derive(Debug, Default)]
struct MemoryLog(Mutex<State>);

impl MemoryLog {
    fn state(&self) -> MutexGuard<'_, State> {
        self.0.lock().expect("invariant: not poisoned")
    }
}

#[async_trait]
impl TaskLog for MemoryLog {
    async fn create(&self, task: &Task) -> Result<(), TaskLogError> {
        let mut state = self.state();
        match state.tasks.get_mut(&task.id) {
            Some(existing) => {
                let change = StateChange {
                    at: task.updated_at,
                    ..StateChange::new(task.id, task.status)
                };
                apply_change(existing, &change);
            }
            None => {
                state.tasks.insert(task.id, task.clone());
                state.recorded.insert(task.id, Instant::now());
            }
        }
        Ok(())
    }

    async fn record(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        let mut state = self.state();
        let Some(task) = state.tasks.get_mut(&change.task_id) else {
            return Ok(RecordOutcome::Missing);
        };
        let outcome = apply_change(task, change);
        if outcome == RecordOutcome::Applied {
            state.history.push(change.clone());
        }
        Ok(outcome)
    }

    async fn get(&self, id: TaskId) -> Result<Option<Task>, TaskLogError> {
        Ok(self.state().tasks.get(&id).cloned())
    }

    async fn list(&self, filter: &TaskFilter, page: PageRequest) -> Result<Page, TaskLogError> {
        let state = self.state();
        let limit = page.limit as usize;
        let mut items: Vec<Task> = state
            .tasks
            .values()
            .rev()
            .filter(|t| page.after.is_none_or(|Cursor(c)| t.id < c))
            .filter(|t| filter.matches(t))
            .take(limit + 1)
            .cloned()
            .collect();
        let more = items.len() > limit;
        items.truncate(limit);
        let next = more.then(|| Cursor(items[limit - 1].id));
        Ok(Page { items, next })
    }

    async fn counts(&self, query: &CountQuery) -> Result<Vec<BucketCount>, TaskLogError> {
        query.validate()?;
        let mut buckets: BTreeMap<DateTime<Utc>, StatusCounts> = BTreeMap::new();
        for task in self.state().tasks.values() {
            if task.created_at >= query.from && task.created_at < query.to {
                let start = query.bucket_start(task.created_at);
                buckets.entry(start).or_default().add(task.status, 1);
            }
        }
        Ok(buckets
            .into_iter()
            .map(|(start, counts)| BucketCount { start, counts })
            .collect())
    }

    async fn history(&self, id: TaskId) -> Result<Vec<StateChange>, TaskLogError> {
        let state = self.state();
        Ok(state
            .history
            .iter()
            .filter(|c| c.task_id == id)
            .cloned()
            .collect())
    }

    async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<u64, TaskLogError> {
        let mut state = self.state();
        let gone: Vec<TaskId> = state
            .tasks
            .values()
            .filter(|t| t.status.is_final() && t.created_at < cutoff)
            .map(|t| t.id)
            .collect();
        for id in &gone {
            state.tasks.remove(id);
        }
        state.history.retain(|c| !gone.contains(&c.task_id));
        Ok(gone.len() as u64)
    }

    fn outbox(&self) -> Option<&dyn Outbox> {
        Some(self)
    }

    fn worker_registry(&self) -> Option<&dyn WorkerRegistry> {
        Some(self)
    }
}

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
        let old_enough = |id: &TaskId| {
            state
                .recorded
                .get(id)
                .is_some_and(|at| now.duration_since(*at) >= min_age)
        };
        let claimable: Vec<Task> = state
            .tasks
            .values()
            .filter(|t| t.status == TaskState::Initiated && old_enough(&t.id))
            .filter(|t| state.claims.get(&t.id).is_none_or(|until| *until <= now))
            .take(limit as usize)
            .cloned()
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

cogman_testkit::task_log_conformance!(async { Arc::new(MemoryLog::default()) });
