//! [`MemoryLog`], the in-memory reference [`TaskLog`]: the trait's rules written out as plainly
//! as they go, and the example a new backend copies. It passes the whole
//! [`task_log_suite`](crate::task_log_suite), offers both optional abilities (in
//! [`abilities`]), and holds changes back the way a batching log does (in [`held`]): a new
//! backend can start from this file and replace each map with its store.
//!
//! ```
//! use std::sync::Arc;
//! use cogman_core::{StateChange, TaskLog, TaskState};
//! use cogman_testkit::{MemoryLog, sample};
//!
//! # futures::executor::block_on(async {
//! let log = Arc::new(MemoryLog::default());
//! let task = sample::task("example");
//! log.create(&task).await.unwrap();
//! log.record_behind(&StateChange::new(task.id, TaskState::Queued)).await.unwrap();
//! // A held change is read back at once, and written on `flush` at the latest.
//! assert_eq!(log.get(task.id).await.unwrap().unwrap().status, TaskState::Queued);
//! log.flush().await.unwrap();
//! # });
//! ```
//!
//! Everything lives behind one mutex, never held across an `await`. Held changes whose time is
//! up are written by the next call of any method (there is no background task), which no
//! reader of this log can tell apart from writing them on time.

mod abilities;
mod dead_letters;
mod held;
mod limits;
mod pauses;
mod schedules;
mod unique;

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{
    BucketCount, Claim, CountQuery, Cursor, HistoryNote, NoteOutcome, Outbox, Page, PageRequest,
    RecordOutcome, StateChange, StatusCounts, Task, TaskFilter, TaskId, TaskLog, TaskLogError,
    UniqueKey, WorkerInfo, WorkerRegistry, apply_change,
};

use held::HeldChanges;
use unique::UniqueKeys;

/// The in-memory reference task log. `MemoryLog::default()` holds changes back for
/// [`MemoryLog::DEFAULT_HOLD`]; [`MemoryLog::holding_for`] picks another time.
#[derive(Debug)]
pub struct MemoryLog {
    state: Mutex<State>,
    hold: Duration,
}

/// What the log stores.
#[derive(Debug, Default)]
struct State {
    /// The records, by id (ids are UUID v7, so this is creation order).
    tasks: BTreeMap<TaskId, Task>,
    /// Every applied change, in the order applied.
    history: Vec<StateChange>,
    /// Changes given to `record_behind` and not yet applied.
    held: HeldChanges,
    /// When each task was first recorded, by this log's clock (outbox ages).
    recorded: HashMap<TaskId, Instant>,
    /// Outbox claims and when they run out.
    claims: HashMap<TaskId, Instant>,
    /// The latest heartbeat of each worker.
    workers: HashMap<String, WorkerInfo>,
    /// Dead letters by id, and the last id given.
    dead_letters: BTreeMap<u64, cogman_core::DeadLetter>,
    last_dead_letter: u64,
    /// Schedules, slot claims and leases.
    schedules: schedules::Schedules,
    /// Unique keys and their holders.
    unique: UniqueKeys,
    /// Paused named queues and since when.
    paused_queues: BTreeMap<String, DateTime<Utc>>,
    /// Rate and concurrency limits and their buckets.
    limits: limits::Limits,
}

impl Default for MemoryLog {
    fn default() -> Self {
        MemoryLog::holding_for(MemoryLog::DEFAULT_HOLD)
    }
}

impl MemoryLog {
    /// How long `MemoryLog::default()` holds a change back.
    pub const DEFAULT_HOLD: Duration = Duration::from_millis(100);

    /// An empty log that holds changes given to [`TaskLog::record_behind`] back for `hold`
    /// (zero applies them at once).
    pub fn holding_for(hold: Duration) -> Self {
        MemoryLog {
            state: Mutex::new(State::default()),
            hold,
        }
    }

    /// The state, with the held changes whose time is up applied first.
    fn state(&self) -> MutexGuard<'_, State> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        for change in state.held.take_due(Instant::now()) {
            state.apply(&change);
        }
        state
    }
}

impl State {
    /// Stores a new record (the unique key stays in [`UniqueKeys`], as every log keeps it out
    /// of the task record); an existing one only moves forward.
    fn create(&mut self, task: &Task) -> Result<(), TaskLogError> {
        // A chain's attempt numbers are unique: a backend checks this in the same transaction
        // as the insert (a unique index, a set-if-absent key).
        let taken = self.tasks.values().find(|other| {
            other.id != task.id
                && other.original_task_id == task.original_task_id
                && other.attempt == task.attempt
        });
        if let Some(taken) = taken
            && !self.tasks.contains_key(&task.id)
        {
            return Err(TaskLogError::AttemptTaken {
                original: task.original_task_id,
                attempt: task.attempt,
                taken_by: taken.id,
            });
        }
        match self.tasks.entry(task.id) {
            Entry::Vacant(vacant) => {
                vacant.insert(Task {
                    unique_key: None,
                    ..task.clone()
                });
                self.recorded.insert(task.id, Instant::now());
            }
            Entry::Occupied(_) => {
                self.write(&StateChange::from_task(task));
            }
        }
        Ok(())
    }

    /// Applies `change` under the transition rule and keeps it in the history if it moved the
    /// task. Changes held for the task are applied before it, so they keep their order.
    fn write(&mut self, change: &StateChange) -> RecordOutcome {
        for earlier in self.held.take(change.task_id) {
            self.apply(&earlier);
        }
        self.apply(change)
    }

    fn apply(&mut self, change: &StateChange) -> RecordOutcome {
        let Some(task) = self.tasks.get_mut(&change.task_id) else {
            return RecordOutcome::Missing;
        };
        let outcome = apply_change(task, change);
        if outcome == RecordOutcome::Applied {
            self.history.push(change.clone());
        }
        outcome
    }

    /// Appends `note` with the task's state, after the changes held for it (so it follows
    /// them in the history), while the task has room for it.
    fn note(&mut self, note: &HistoryNote) -> NoteOutcome {
        for earlier in self.held.take(note.task_id) {
            self.apply(&earlier);
        }
        let Some(task) = self.tasks.get(&note.task_id) else {
            return NoteOutcome::Missing;
        };
        let held = self
            .history
            .iter()
            .filter(|c| c.task_id == note.task_id && c.note.is_some())
            .count();
        if !cogman_core::note::has_room(held) {
            return NoteOutcome::Full;
        }
        let entry = note.entry(task.status);
        self.history.push(entry);
        NoteOutcome::Added
    }

    /// The record of `id` as this log's readers see it: with its held changes applied.
    fn read(&self, id: TaskId) -> Option<Task> {
        let mut task = self.tasks.get(&id)?.clone();
        for change in self.held.of(id) {
            apply_change(&mut task, change);
        }
        Some(task)
    }
}

#[async_trait]
impl TaskLog for MemoryLog {
    async fn create(&self, task: &Task) -> Result<(), TaskLogError> {
        self.state().create(task)
    }

    async fn create_unique(&self, task: &Task, key: &UniqueKey) -> Result<Claim, TaskLogError> {
        let mut state = self.state();
        let claim = state.unique.claim(key, task.id, Instant::now());
        if claim == Claim::Created
            && let Err(error) = state.create(task)
        {
            state.unique.forget(&key.key, task.id);
            return Err(error);
        }
        Ok(claim)
    }

    async fn release_unique(&self, key: &str, holder: TaskId) -> Result<(), TaskLogError> {
        self.state().unique.release(key, holder);
        Ok(())
    }

    async fn record(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        Ok(self.state().write(change))
    }

    async fn record_behind(&self, change: &StateChange) -> Result<(), TaskLogError> {
        let mut state = self.state();
        if self.hold.is_zero() {
            state.write(change);
        } else {
            state.held.hold(change.clone(), Instant::now() + self.hold);
        }
        Ok(())
    }

    async fn flush(&self) -> Result<(), TaskLogError> {
        let mut state = self.state();
        for change in state.held.take_all() {
            state.apply(&change);
        }
        Ok(())
    }

    async fn note(&self, note: &HistoryNote) -> Result<NoteOutcome, TaskLogError> {
        Ok(self.state().note(note))
    }

    async fn get(&self, id: TaskId) -> Result<Option<Task>, TaskLogError> {
        Ok(self.state().read(id))
    }

    async fn list(&self, filter: &TaskFilter, page: PageRequest) -> Result<Page, TaskLogError> {
        filter.validate()?;
        let state = self.state();
        let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT) as usize;
        let mut items: Vec<Task> = state
            .tasks
            .values()
            .rev()
            .filter(|t| page.after.is_none_or(|Cursor(after)| t.id < after))
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
        Ok(self
            .state()
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
            .filter(|t| {
                // An attempt stays while another attempt of its chain waits or runs.
                !state
                    .tasks
                    .values()
                    .any(|o| o.original_task_id == t.original_task_id && !o.status.is_final())
            })
            .map(|t| t.id)
            .collect();
        for id in &gone {
            state.tasks.remove(id);
            state.recorded.remove(id);
            state.claims.remove(id);
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
