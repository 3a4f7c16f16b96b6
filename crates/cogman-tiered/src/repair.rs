//! Repairs of the hot log: a task whose hot record a write missed (the hot log failed, was
//! skipped, or had lost the record) is queued here, and a background loop copies its durable
//! record into the hot log, retrying with backoff until the hot log takes it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use cogman_core::{Backoff, TaskId, TaskLog};
use tokio::sync::mpsc;

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

/// The repair queue of one tiered log, and how far behind the hot log may be.
pub(crate) struct Repairs {
    hot: Arc<dyn TaskLog>,
    durable: Arc<dyn TaskLog>,
    queue: OnceLock<mpsc::Sender<TaskId>>,
    state: Arc<RepairState>,
}

/// How far behind the hot log may be.
#[derive(Debug, Default)]
struct RepairState {
    /// Repairs queued and not yet done or given up.
    waiting: AtomicUsize,
    /// A repair was dropped (full queue) or given up: some hot record may stay behind until
    /// it is written again or expires.
    lost: AtomicBool,
}

impl Repairs {
    /// Repairs of `hot` from `durable`; the loop starts with the first repair.
    pub(crate) fn new(hot: Arc<dyn TaskLog>, durable: Arc<dyn TaskLog>) -> Self {
        Repairs {
            hot,
            durable,
            queue: OnceLock::new(),
            state: Arc::default(),
        }
    }

    /// Queues a repair of task `id` in the hot log: a background task copies the durable
    /// record into it (insert-or-advance), retrying until the hot log takes it. It starts with
    /// the first repair (on the runtime of that call) and ends when these repairs are dropped.
    pub(crate) fn queue(&self, id: TaskId) {
        let queue = self.queue.get_or_init(|| {
            let (queue, pending) = mpsc::channel(REPAIR_QUEUE);
            tokio::spawn(repair_loop(
                Arc::clone(&self.hot),
                Arc::clone(&self.durable),
                pending,
                Arc::clone(&self.state),
            ));
            queue
        });
        self.state.waiting.fetch_add(1, Ordering::AcqRel);
        if queue.try_send(id).is_err() {
            self.state.waiting.fetch_sub(1, Ordering::AcqRel);
            self.state.lost.store(true, Ordering::Release);
            tracing::warn!(task = %id, "hot task log repair queue is full; dropping the repair");
        }
    }

    /// True when no repair is waiting and none was ever lost.
    pub(crate) fn none_behind(&self) -> bool {
        self.state.waiting.load(Ordering::Acquire) == 0 && !self.state.lost.load(Ordering::Acquire)
    }
}

/// Copies the durable record of each queued task into the hot log. Each repair reads the
/// durable log afresh, so a repair never brings back an older state than the last write that
/// asked for it.
async fn repair_loop(
    hot: Arc<dyn TaskLog>,
    durable: Arc<dyn TaskLog>,
    mut pending: mpsc::Receiver<TaskId>,
    state: Arc<RepairState>,
) {
    while let Some(id) = pending.recv().await {
        if !repair(&*hot, &*durable, id).await {
            state.lost.store(true, Ordering::Release);
        }
        state.waiting.fetch_sub(1, Ordering::AcqRel);
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
