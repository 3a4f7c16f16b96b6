//! Unit tests of [`TieredLog`] over two in-memory logs that can be made to fail.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{
    BucketCount, CountQuery, HistoryNote, NoteKind, NoteOutcome, Page, PageRequest, RecordOutcome,
    StateChange, Task, TaskFilter, TaskId, TaskLog, TaskLogError, TaskSpec, TaskState,
    apply_change,
};

use crate::TieredLog;

/// An in-memory log whose every call fails while `down` is set.
#[derive(Debug, Default)]
struct MemoryLog {
    tasks: Mutex<HashMap<TaskId, Task>>,
    down: AtomicBool,
    calls: std::sync::atomic::AtomicUsize,
    /// Changes given to `record_behind`, applied on `flush`.
    held: Mutex<Vec<StateChange>>,
    /// Notes given to `note`.
    notes: Mutex<Vec<HistoryNote>>,
}

impl MemoryLog {
    fn check(&self) -> Result<(), TaskLogError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if self.down.load(Ordering::Acquire) {
            Err(TaskLogError::Unavailable("down".into()))
        } else {
            Ok(())
        }
    }

    fn state(&self, id: TaskId) -> Option<TaskState> {
        let tasks = self.tasks.lock().expect("invariant: not poisoned");
        tasks.get(&id).map(|t| t.status)
    }
}

#[async_trait]
impl TaskLog for MemoryLog {
    async fn create(&self, task: &Task) -> Result<(), TaskLogError> {
        self.check()?;
        let mut tasks = self.tasks.lock().expect("invariant: not poisoned");
        match tasks.get_mut(&task.id) {
            Some(stored) => {
                let change = StateChange {
                    at: task.updated_at,
                    ..StateChange::new(task.id, task.status)
                };
                apply_change(stored, &change);
            }
            None => {
                tasks.insert(task.id, task.clone());
            }
        }
        Ok(())
    }

    async fn record(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        self.check()?;
        let mut tasks = self.tasks.lock().expect("invariant: not poisoned");
        Ok(match tasks.get_mut(&change.task_id) {
            Some(task) => apply_change(task, change),
            None => RecordOutcome::Missing,
        })
    }

    async fn record_behind(&self, change: &StateChange) -> Result<(), TaskLogError> {
        self.check()?;
        self.held
            .lock()
            .expect("invariant: not poisoned")
            .push(change.clone());
        Ok(())
    }

    async fn flush(&self) -> Result<(), TaskLogError> {
        let held = std::mem::take(&mut *self.held.lock().expect("invariant: not poisoned"));
        for change in held {
            self.record(&change).await?;
        }
        Ok(())
    }

    async fn note(&self, note: &HistoryNote) -> Result<NoteOutcome, TaskLogError> {
        self.check()?;
        if self.state(note.task_id).is_none() {
            return Ok(NoteOutcome::Missing);
        }
        let mut notes = self.notes.lock().expect("invariant: not poisoned");
        notes.push(note.clone());
        Ok(NoteOutcome::Added)
    }

    async fn get(&self, id: TaskId) -> Result<Option<Task>, TaskLogError> {
        self.check()?;
        Ok(self
            .tasks
            .lock()
            .expect("invariant: not poisoned")
            .get(&id)
            .cloned())
    }

    async fn list(&self, _: &TaskFilter, _: PageRequest) -> Result<Page, TaskLogError> {
        self.check()?;
        let mut items: Vec<Task> = self
            .tasks
            .lock()
            .expect("invariant: not poisoned")
            .values()
            .cloned()
            .collect();
        items.sort_by_key(|t| std::cmp::Reverse(t.id));
        Ok(Page { items, next: None })
    }

    async fn counts(&self, _: &CountQuery) -> Result<Vec<BucketCount>, TaskLogError> {
        self.check()?;
        Ok(Vec::new())
    }

    async fn history(&self, _: TaskId) -> Result<Vec<StateChange>, TaskLogError> {
        self.check()?;
        Ok(Vec::new())
    }

    async fn purge_before(&self, _: DateTime<Utc>) -> Result<u64, TaskLogError> {
        self.check()?;
        Ok(0)
    }
}

fn logs() -> (Arc<MemoryLog>, Arc<MemoryLog>, TieredLog) {
    let (hot, durable) = (
        Arc::new(MemoryLog::default()),
        Arc::new(MemoryLog::default()),
    );
    let tiered = TieredLog::new(hot.clone(), durable.clone());
    (hot, durable, tiered)
}

fn task() -> Task {
    Task::from_spec(TaskSpec::new("tiered", b"x".to_vec()), Utc::now())
}

#[tokio::test]
async fn writes_reach_both_logs() {
    let (hot, durable, tiered) = logs();
    let task = task();
    tiered.create(&task).await.expect("create");
    let outcome = tiered
        .record(&StateChange::new(task.id, TaskState::Queued))
        .await
        .expect("record");
    assert_eq!(outcome, RecordOutcome::Applied);
    assert_eq!(hot.state(task.id), Some(TaskState::Queued));
    assert_eq!(durable.state(task.id), Some(TaskState::Queued));
}

#[tokio::test]
async fn a_durable_failure_fails_the_call_and_skips_the_hot_log() {
    let (hot, durable, tiered) = logs();
    durable.down.store(true, Ordering::Release);
    let task = task();
    assert!(tiered.create(&task).await.is_err());
    assert_eq!(hot.state(task.id), None, "nothing reaches the hot log");
}

#[tokio::test]
async fn a_hot_failure_does_not_fail_the_call_and_is_repaired_later() {
    let (hot, durable, tiered) = logs();
    let task = task();
    tiered.create(&task).await.expect("create");
    hot.down.store(true, Ordering::Release);
    let change = StateChange::new(task.id, TaskState::Success);
    assert_eq!(
        tiered.record(&change).await.expect("record"),
        RecordOutcome::Applied
    );
    assert_eq!(durable.state(task.id), Some(TaskState::Success));
    let read = tiered.get(task.id).await.expect("get").expect("exists");
    assert_eq!(
        read.status,
        TaskState::Success,
        "reads fall back while the hot log fails"
    );

    hot.down.store(false, Ordering::Release);
    hot_reaches(&hot, task.id, TaskState::Success).await;
}

/// Polls until the hot log holds `state` for `id` (10 s deadline).
async fn hot_reaches(hot: &MemoryLog, id: TaskId, state: TaskState) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while hot.state(id) != Some(state) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the hot log reaches {state}; it has {:?}",
            hot.state(id)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_create_missed_by_the_hot_log_is_repaired_with_the_latest_state() {
    let (hot, durable, tiered) = logs();
    let task = task();
    hot.down.store(true, Ordering::Release);
    tiered.create(&task).await.expect("create");
    hot.down.store(false, Ordering::Release);
    let change = StateChange::new(task.id, TaskState::InProgress);
    assert_eq!(
        tiered.record(&change).await.expect("record"),
        RecordOutcome::Applied
    );
    hot_reaches(&hot, task.id, TaskState::InProgress).await;
    assert_eq!(durable.state(task.id), Some(TaskState::InProgress));
}

#[tokio::test]
async fn a_write_that_finds_the_hot_record_gone_seeds_it_again() {
    let (hot, _durable, tiered) = logs();
    let task = task();
    tiered.create(&task).await.expect("create");
    hot.tasks.lock().expect("invariant: not poisoned").clear();
    let change = StateChange::new(task.id, TaskState::Queued);
    tiered.record(&change).await.expect("record");
    hot_reaches(&hot, task.id, TaskState::Queued).await;
}

#[tokio::test]
async fn reads_prefer_the_hot_log_and_fall_back_on_a_miss() {
    let (hot, durable, tiered) = logs();
    let task = task();
    tiered.create(&task).await.expect("create");
    // Make the two logs differ so the answer shows which one served it.
    hot.tasks
        .lock()
        .expect("invariant: not poisoned")
        .get_mut(&task.id)
        .expect("created")
        .name = "from-hot".into();
    let read = tiered.get(task.id).await.expect("get").expect("exists");
    assert_eq!(read.name, "from-hot");
    hot.tasks.lock().expect("invariant: not poisoned").clear();
    let read = tiered.get(task.id).await.expect("get").expect("exists");
    assert_eq!(read.name, "tiered", "a hot miss reads the durable log");
    assert_eq!(durable.state(task.id), Some(TaskState::Initiated));
}

#[tokio::test]
async fn a_failing_hot_log_is_skipped_instead_of_awaited_on_every_call() {
    let (hot, durable, tiered) = logs();
    hot.down.store(true, Ordering::Release);
    let tasks: Vec<Task> = (0..50).map(|_| task()).collect();
    for t in &tasks {
        tiered.create(t).await.expect("create");
        let change = StateChange::new(t.id, TaskState::Queued);
        tiered.record(&change).await.expect("record");
        let read = tiered.get(t.id).await.expect("get").expect("exists");
        assert_eq!(read.status, TaskState::Queued, "read from the durable log");
    }
    let calls = hot.calls.load(Ordering::Relaxed);
    assert!(
        calls < 5,
        "150 calls, but only the first (and the background repair) tried the hot log: {calls}"
    );
    assert!(
        tasks
            .iter()
            .all(|t| durable.state(t.id) == Some(TaskState::Queued))
    );
}

#[tokio::test]
async fn listings_come_from_the_durable_log() {
    let (hot, _durable, tiered) = logs();
    let task = task();
    tiered.create(&task).await.expect("create");
    hot.down.store(true, Ordering::Release);
    let page = tiered
        .list(&TaskFilter::default(), PageRequest::default())
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1);
}

#[tokio::test]
async fn a_transient_change_is_answered_by_the_hot_log_and_held_by_the_durable_one() {
    let (hot, durable, tiered) = logs();
    let task = task();
    tiered.create(&task).await.expect("create");
    let queued = StateChange::new(task.id, TaskState::Queued);
    assert_eq!(
        tiered.record_transient(&queued).await.expect("record"),
        RecordOutcome::Applied
    );
    assert_eq!(hot.state(task.id), Some(TaskState::Queued));
    assert_eq!(durable.state(task.id), Some(TaskState::Initiated));
    let read = tiered.get(task.id).await.expect("get").expect("exists");
    assert_eq!(read.status, TaskState::Queued, "a read sees it at once");

    tiered.flush().await.expect("flush");
    assert_eq!(durable.state(task.id), Some(TaskState::Queued));
}

#[tokio::test]
async fn a_transient_change_gets_the_hot_logs_stale_answer() {
    let (_hot, durable, tiered) = logs();
    let task = task();
    tiered.create(&task).await.expect("create");
    let cancel = StateChange::new(task.id, TaskState::Cancelled);
    tiered.record(&cancel).await.expect("cancel");
    let start = StateChange::new(task.id, TaskState::InProgress);
    assert_eq!(
        tiered.record_transient(&start).await.expect("record"),
        RecordOutcome::Stale {
            current: TaskState::Cancelled
        },
        "a cancelled task is not started"
    );
    tiered.flush().await.expect("flush");
    assert_eq!(durable.state(task.id), Some(TaskState::Cancelled));
}

#[tokio::test]
async fn a_transient_change_goes_durable_first_while_the_hot_log_may_be_behind() {
    let (hot, durable, tiered) = logs();
    let task = task();
    hot.down.store(true, Ordering::Release);
    tiered.create(&task).await.expect("create");
    // The hot log missed the create; until its repair is done it cannot answer.
    let queued = StateChange::new(task.id, TaskState::Queued);
    tiered.record_transient(&queued).await.expect("record");
    assert_eq!(
        durable.state(task.id),
        Some(TaskState::Queued),
        "written at once"
    );
    assert!(
        durable
            .held
            .lock()
            .expect("invariant: not poisoned")
            .is_empty()
    );

    hot.down.store(false, Ordering::Release);
    hot_reaches(&hot, task.id, TaskState::Queued).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(tiered.hot_is_current() && tiered.breaker_is_closed()) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the repairs end and a probe closes the breaker"
        );
        // A read probes the hot log once the breaker's cool-off is over.
        tiered.get(task.id).await.expect("get");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let start = StateChange::new(task.id, TaskState::InProgress);
    tiered.record_transient(&start).await.expect("record");
    assert_eq!(
        durable.state(task.id),
        Some(TaskState::Queued),
        "held again once the hot log is current"
    );
}

#[tokio::test]
async fn a_transient_change_goes_durable_first_when_the_hot_record_is_gone() {
    let (hot, durable, tiered) = logs();
    let task = task();
    tiered.create(&task).await.expect("create");
    hot.tasks.lock().expect("invariant: not poisoned").clear();
    let queued = StateChange::new(task.id, TaskState::Queued);
    assert_eq!(
        tiered.record_transient(&queued).await.expect("record"),
        RecordOutcome::Applied
    );
    assert_eq!(durable.state(task.id), Some(TaskState::Queued));
    hot_reaches(&hot, task.id, TaskState::Queued).await;
}

#[tokio::test]
async fn notes_go_to_the_durable_log_which_holds_the_history() {
    let (hot, durable, tiered) = logs();
    let task = task();
    tiered.create(&task).await.unwrap();
    let note = HistoryNote::new(task.id, NoteKind::Rerun, "w2");
    assert_eq!(tiered.note(&note).await.unwrap(), NoteOutcome::Added);
    assert_eq!(*durable.notes.lock().unwrap(), vec![note]);
    assert!(hot.notes.lock().unwrap().is_empty());
}
