//! [`TieredLog`]: a fast, expiring "hot" task log (Redis) in front of a durable one
//! (PostgreSQL), seen as one [`TaskLog`].
//!
//! - Writes go to the durable log first; its answer (or error) is the call's answer. The same
//!   write then goes to the hot log. A hot failure never fails the call: it is logged and the
//!   task is queued for a background repair, which copies the durable record into the hot log
//!   (retrying with backoff until the hot log takes it), so a hot outage does not leave stale
//!   states behind. A write that finds the hot record gone (expired, flushed) queues the same
//!   repair, which seeds it again. Writes are monotonic, so late repairs are harmless.
//! - A hot log that fails or answers slowly is kept off the task path by a breaker (see
//!   `breaker`): its calls are skipped (writes queue a repair instead) until a probe succeeds,
//!   so a Redis outage never slows task execution down to Redis's retry timeouts.
//! - Changes that are not outcomes ([`TaskLog::record_transient`]: a task was queued, or
//!   starts) are answered by the hot log, which a read sees at once, and go to the durable log
//!   with [`TaskLog::record_behind`], so it can write them together with the task's next
//!   change (with PostgreSQL: one row write instead of three for queued, in progress and the
//!   outcome). This needs a hot log that is not behind the durable one: while the breaker keeps
//!   it off, a repair is waiting, or a repair was ever dropped, such changes are written
//!   durable-first like any other, and the hot record missing does the same.
//! - `get` reads the hot log and falls back to the durable one when the hot log misses (the
//!   record expired or was flushed), fails, or is skipped.
//! - `list`, `oldest`, `counts`, `history` and `purge_before` are answered by the durable log,
//!   as are the [`Outbox`] (minus tasks the hot log shows published) and [`WorkerRegistry`]
//!   abilities; `purge_before` also purges the hot log (best effort), so a purged task is gone
//!   from both.

mod breaker;

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{
    Backoff, BucketCount, CountQuery, Outbox, Page, PageRequest, RecordOutcome, StateChange, Task,
    TaskFilter, TaskId, TaskLog, TaskLogError, TaskState, WorkerRegistry,
};
use tokio::sync::mpsc;

use breaker::{HOT_CALL_TIMEOUT, HotBreaker};

/// Repairs waiting for the hot log; beyond this, new ones are dropped (and logged): the hot
/// log then serves an older state until that record is written again or expires, or misses
/// and the durable log answers.
const REPAIR_QUEUE: usize = 10_000;

/// Tries of one repair before it is given up (about five minutes with the backoff below).
const REPAIR_ATTEMPTS: u32 = 300;

/// Backoff between tries of a repair.
const REPAIR_BACKOFF: Backoff = Backoff {
    base: Duration::from_millis(100),
    max: Duration::from_secs(2),
};

/// A hot task log in front of a durable one. See the module docs.
pub struct TieredLog {
    hot: Arc<dyn TaskLog>,
    durable: Arc<dyn TaskLog>,
    repairs: OnceLock<mpsc::Sender<TaskId>>,
    repair_state: Arc<Repairs>,
    breaker: HotBreaker,
}

/// How far behind the hot log may be.
#[derive(Debug, Default)]
struct Repairs {
    /// Repairs queued and not yet done or given up.
    waiting: AtomicUsize,
    /// A repair was dropped (full queue) or given up: some hot record may stay behind until
    /// it is written again or expires.
    lost: AtomicBool,
}

impl fmt::Debug for TieredLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TieredLog")
            .field("hot", &self.hot)
            .field("durable", &self.durable)
            .finish_non_exhaustive()
    }
}

impl TieredLog {
    /// `hot` in front of `durable`.
    pub fn new(hot: Arc<dyn TaskLog>, durable: Arc<dyn TaskLog>) -> Self {
        TieredLog {
            hot,
            durable,
            repairs: OnceLock::new(),
            repair_state: Arc::default(),
            breaker: HotBreaker::default(),
        }
    }

    /// Runs a call of the hot log unless the breaker keeps it off; `None` when it was skipped,
    /// failed or took longer than [`HOT_CALL_TIMEOUT`] (which opens the breaker).
    async fn hot_call<T>(
        &self,
        what: &'static str,
        call: impl Future<Output = Result<T, TaskLogError>>,
    ) -> Option<T> {
        if !self.breaker.allows() {
            return None;
        }
        match tokio::time::timeout(HOT_CALL_TIMEOUT, call).await {
            Ok(Ok(value)) => {
                self.breaker.succeeded();
                Some(value)
            }
            Ok(Err(error)) => {
                tracing::debug!(%error, what, "hot task log call failed");
                self.breaker.failed();
                None
            }
            Err(_) => {
                tracing::debug!(what, "hot task log call timed out");
                self.breaker.failed();
                None
            }
        }
    }

    /// The hot log.
    pub fn hot(&self) -> &Arc<dyn TaskLog> {
        &self.hot
    }

    /// The durable log.
    pub fn durable(&self) -> &Arc<dyn TaskLog> {
        &self.durable
    }

    /// Queues a repair of task `id` in the hot log: a background task copies the durable
    /// record into it (insert-or-advance), retrying until the hot log takes it. It starts with
    /// the first repair (on the runtime of that call) and ends when this log is dropped.
    fn repair(&self, id: TaskId) {
        let queue = self.repairs.get_or_init(|| {
            let (queue, pending) = mpsc::channel(REPAIR_QUEUE);
            tokio::spawn(repair_loop(
                Arc::clone(&self.hot),
                Arc::clone(&self.durable),
                pending,
                Arc::clone(&self.repair_state),
            ));
            queue
        });
        self.repair_state.waiting.fetch_add(1, Ordering::AcqRel);
        if queue.try_send(id).is_err() {
            self.repair_state.waiting.fetch_sub(1, Ordering::AcqRel);
            self.repair_state.lost.store(true, Ordering::Release);
            tracing::warn!(task = %id, "hot task log repair queue is full; dropping the repair");
        }
    }

    /// Whether the hot log can answer for the durable one: no repair is waiting or was lost.
    fn hot_is_current(&self) -> bool {
        self.repair_state.waiting.load(Ordering::Acquire) == 0
            && !self.repair_state.lost.load(Ordering::Acquire)
    }
}

/// Copies the durable record of each queued task into the hot log. Each repair reads the
/// durable log afresh, so a repair never brings back an older state than the last write that
/// asked for it.
async fn repair_loop(
    hot: Arc<dyn TaskLog>,
    durable: Arc<dyn TaskLog>,
    mut pending: mpsc::Receiver<TaskId>,
    repairs: Arc<Repairs>,
) {
    while let Some(id) = pending.recv().await {
        if !repair(&*hot, &*durable, id).await {
            repairs.lost.store(true, Ordering::Release);
        }
        repairs.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Copies the durable record of `id` into the hot log, retrying until it takes it or the
/// tries run out (then false).
async fn repair(hot: &dyn TaskLog, durable: &dyn TaskLog, id: TaskId) -> bool {
    let mut attempt = 0;
    loop {
        let tried = match durable.get(id).await {
            Ok(Some(task)) => hot.create(&task).await,
            Ok(None) => Ok(()),
            Err(error) => Err(error),
        };
        let Err(error) = tried else { return true };
        if attempt >= REPAIR_ATTEMPTS {
            tracing::warn!(%error, task = %id, "giving up repairing the hot task log");
            return false;
        }
        tokio::time::sleep(REPAIR_BACKOFF.delay(attempt)).await;
        attempt += 1;
    }
}

#[async_trait]
impl TaskLog for TieredLog {
    async fn create(&self, task: &Task) -> Result<(), TaskLogError> {
        self.durable.create(task).await?;
        if self
            .hot_call("create", self.hot.create(task))
            .await
            .is_none()
        {
            self.repair(task.id);
        }
        Ok(())
    }

    async fn record(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        let outcome = self.durable.record(change).await?;
        if outcome == RecordOutcome::Missing {
            return Ok(outcome);
        }
        match self.hot_call("record", self.hot.record(change)).await {
            // Skipped or failed, or the hot record expired or was lost: seed it again from
            // the durable one.
            None | Some(RecordOutcome::Missing) => self.repair(change.task_id),
            Some(_) => {}
        }
        Ok(outcome)
    }

    async fn record_transient(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        if self.hot_is_current() {
            match self.hot_call("record", self.hot.record(change)).await {
                Some(RecordOutcome::Missing) | None => {}
                Some(outcome) => {
                    self.durable.record_behind(change).await?;
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
        self.durable.flush().await
    }

    async fn get(&self, id: TaskId) -> Result<Option<Task>, TaskLogError> {
        if let Some(Some(task)) = self.hot_call("get", self.hot.get(id)).await {
            return Ok(Some(task));
        }
        self.durable.get(id).await
    }

    async fn list(&self, filter: &TaskFilter, page: PageRequest) -> Result<Page, TaskLogError> {
        self.durable.list(filter, page).await
    }

    async fn oldest(&self, filter: &TaskFilter, limit: u32) -> Result<Vec<Task>, TaskLogError> {
        self.durable.oldest(filter, limit).await
    }

    async fn counts(&self, query: &CountQuery) -> Result<Vec<BucketCount>, TaskLogError> {
        self.durable.counts(query).await
    }

    async fn history(&self, id: TaskId) -> Result<Vec<StateChange>, TaskLogError> {
        self.durable.history(id).await
    }

    async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<u64, TaskLogError> {
        let purged = self.durable.purge_before(cutoff).await?;
        if let Err(error) = self.hot.purge_before(cutoff).await {
            tracing::warn!(%error, "purging the hot task log failed; its records expire on their own");
        }
        Ok(purged)
    }

    fn outbox(&self) -> Option<&dyn Outbox> {
        self.durable.outbox().map(|_| self as &dyn Outbox)
    }

    fn worker_registry(&self) -> Option<&dyn WorkerRegistry> {
        self.durable.worker_registry()
    }
}

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
        let Some(outbox) = self.durable.outbox() else {
            return Ok(Vec::new());
        };
        let claimed = outbox.claim_unpublished(min_age, limit, lease).await?;
        let mut unpublished = Vec::with_capacity(claimed.len());
        for task in claimed {
            let hot = self.hot_call("get", self.hot.get(task.id)).await.flatten();
            match hot.map(|hot| hot.status) {
                Some(state) if state != TaskState::Initiated => {
                    let change = StateChange::new(task.id, state);
                    if let Err(error) = self.durable.record(&change).await {
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    use cogman_core::{TaskSpec, apply_change};

    use super::*;

    /// An in-memory log whose every call fails while `down` is set.
    #[derive(Debug, Default)]
    struct MemoryLog {
        tasks: Mutex<HashMap<TaskId, Task>>,
        down: AtomicBool,
        calls: std::sync::atomic::AtomicUsize,
        /// Changes given to `record_behind`, applied on `flush`.
        held: Mutex<Vec<StateChange>>,
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
        while !(tiered.hot_is_current() && tiered.breaker.is_closed()) {
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
}
