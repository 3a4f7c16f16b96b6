//! Rate and concurrency limits on the worker's path. Before a task with a limit runs, the
//! worker asks the log's [`LimitStore`](cogman_core::LimitStore) to admit it. Admitted with a concurrency, it holds a
//! lease renewed while it runs and given back when it is settled (a killed worker's lease
//! runs out, so its slot comes back). Told to wait, the worker hands the delivery back to the
//! broker until then ([`Delivery::postpone`]): not failed, no retry spent, and no worker holds
//! or spins on it meanwhile. The rate's waits are reservations (each waiting task is given a
//! slot of its own), so a task is handed back about once for the rate whatever the backlog.
//! The limits themselves are read from the log at most once per [`LIMIT_CHECK`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use cogman_core::{Admission, Delivery, Task, TaskLimit, TaskLog, WaitReason};
use tokio::sync::Mutex;
use tokio_util::sync::{CancellationToken, DropGuard};

/// How old the worker's copy of the limits may get: a new or changed limit applies within it.
pub const LIMIT_CHECK: Duration = Duration::from_secs(1);

/// The limits as last read, and when.
#[derive(Debug, Default)]
pub(crate) struct LimitCache {
    read: Mutex<Option<(Instant, Arc<Vec<TaskLimit>>)>>,
}

impl LimitCache {
    /// The limit of `name`, reading the limits again when the copy is older than
    /// [`LIMIT_CHECK`]; when they cannot be read, the last copy (none at first).
    async fn limit_of(&self, log: &dyn TaskLog, name: &str) -> Option<TaskLimit> {
        let store = log.limit_store()?;
        let mut read = self.read.lock().await;
        let fresh = read
            .as_ref()
            .is_some_and(|(at, _)| at.elapsed() < LIMIT_CHECK);
        if !fresh {
            match store.limits().await {
                Ok(limits) => *read = Some((Instant::now(), Arc::new(limits))),
                Err(error) => tracing::warn!(%error, "cannot read the limits; using the last copy"),
            }
        }
        read.as_ref()?.1.iter().find(|l| l.name == name).cloned()
    }
}

/// A concurrency lease a running task holds: renewed while it lives, given back when dropped
/// (whichever way the task's processing ends).
pub(crate) struct Slot {
    log: Arc<dyn TaskLog>,
    bucket: String,
    holder: String,
    _renewal: DropGuard,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let (log, bucket, holder) = (
            Arc::clone(&self.log),
            std::mem::take(&mut self.bucket),
            std::mem::take(&mut self.holder),
        );
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Some(store) = log.limit_store()
                    && let Err(error) = store.release(&bucket, &holder).await
                {
                    tracing::warn!(%error, %bucket, "could not give a concurrency lease back; it runs out by itself");
                }
            });
        }
    }
}

/// What the limiter says about a delivery: run it, holding the slot (with a concurrency
/// limit) until the processing ends; `None` when it was handed back to wait.
pub(crate) type Admit = Option<(Delivery, Option<Slot>)>;

/// Asks the limiter about `delivery`'s task; hands it back when it must wait. When the log
/// cannot be asked, the task waits a second rather than run over its limit.
pub(crate) async fn admit(
    cache: &LimitCache,
    log: &Arc<dyn TaskLog>,
    delivery: Delivery,
    lease: Duration,
) -> Admit {
    let task = delivery.task().clone();
    let (Some(limit), Some(store)) = (
        cache.limit_of(log.as_ref(), &task.name).await,
        log.limit_store(),
    ) else {
        return Some((delivery, None));
    };
    let bucket = limit.bucket(&task);
    let holder = task.id.to_string();
    let (after, reason) = match store.acquire(&bucket, &limit, &holder, lease).await {
        Ok(Admission::Admitted) if limit.concurrency.is_some() => {
            let slot = Slot {
                _renewal: renew_while_held(Arc::clone(log), bucket.clone(), holder.clone(), lease),
                log: Arc::clone(log),
                bucket,
                holder,
            };
            return Some((delivery, Some(slot)));
        }
        Ok(Admission::Admitted) => return Some((delivery, None)),
        Ok(Admission::Wait { after, reason }) => (after, reason),
        Err(error) => {
            tracing::warn!(task_id = %task.id, %error, "cannot ask the limiter; the task waits");
            (Duration::from_secs(1), WaitReason::Rate)
        }
    };
    postpone(delivery, &task, &limit, after, reason).await;
    None
}

/// Why a task waits, in words.
pub(crate) fn wait_message(limit: &TaskLimit, reason: WaitReason) -> String {
    match reason {
        WaitReason::Rate => format!(
            "waiting for the rate limit of {:?} ({})",
            limit.name,
            limit.rate.map_or_else(String::new, |r| r.to_string())
        ),
        WaitReason::Concurrency => format!(
            "waiting for the concurrency limit of {:?} (at most {} at once)",
            limit.name,
            limit.concurrency.unwrap_or_default()
        ),
    }
}

async fn postpone(
    delivery: Delivery,
    task: &Task,
    limit: &TaskLimit,
    after: Duration,
    reason: WaitReason,
) {
    // A concurrency wait cannot know when a slot frees up: spread the waiters' next asks.
    let after = match reason {
        WaitReason::Concurrency => cogman_core::limits::spread(after),
        WaitReason::Rate => after,
    };
    let until = Utc::now() + chrono::Duration::from_std(after).unwrap_or_default();
    tracing::debug!(task_id = %task.id, ?after, "{}", wait_message(limit, reason));
    if let Err(error) = delivery.postpone(until).await {
        tracing::warn!(task_id = %task.id, %error, "could not hand a waiting task back; it returns by itself");
    }
}

/// Renews `holder`'s lease every third of it until the guard is dropped.
fn renew_while_held(
    log: Arc<dyn TaskLog>,
    bucket: String,
    holder: String,
    lease: Duration,
) -> DropGuard {
    let stop = CancellationToken::new();
    let guard = stop.clone().drop_guard();
    tokio::spawn(async move {
        let every = (lease / 3).max(Duration::from_millis(50));
        loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
            if let Some(store) = log.limit_store()
                && let Err(error) = store.renew(&bucket, &holder, lease).await
            {
                tracing::warn!(%error, %bucket, "could not renew a concurrency lease");
            }
        }
    });
    guard
}
