//! [`Coverage`]: whether a live worker (one whose heartbeat is within
//! [`WORKER_ALIVE_WINDOW`](crate::inspector::WORKER_ALIVE_WINDOW)) has the handler of a task on
//! the task's queue, from the log's worker registry. A send without one gets a warning in its
//! receipt; the task is accepted all the same. The list of live workers is read at most once
//! per [`REFRESH`], so sending in a loop costs no extra reads; without a registry, or when it
//! cannot be read, there is no warning.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use cogman_core::{TaskLog, WorkerInfo};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::inspector::WORKER_ALIVE_WINDOW;

/// How long a read of the live workers is reused.
pub(crate) const REFRESH: Duration = Duration::from_secs(2);

/// The live workers as last read (`None`: no registry, or it could not be read).
type Live = Option<Arc<Vec<WorkerInfo>>>;

/// The live workers, read from the registry at most once per [`REFRESH`].
#[derive(Debug, Default)]
pub(crate) struct Coverage {
    /// When the list was read and what it held (`None`: no registry, or it could not be read).
    cached: Mutex<Option<(Instant, Live)>>,
}

impl Coverage {
    /// The warning for a task named `name` sent to `queue`, when the live workers are known
    /// and none of them serves `queue` with a handler for `name`.
    pub(crate) async fn warning(
        &self,
        log: &dyn TaskLog,
        name: &str,
        queue: &str,
    ) -> Option<String> {
        let workers = self.live(log).await?;
        let served = workers
            .iter()
            .any(|w| w.handlers.iter().any(|h| h == name) && w.queues.iter().any(|q| q == queue));
        (!served).then(|| unserved(name, queue, &workers))
    }

    async fn live(&self, log: &dyn TaskLog) -> Live {
        let mut cached = self.cached.lock().await;
        if let Some((at, workers)) = cached.as_ref()
            && at.elapsed() < REFRESH
        {
            return workers.clone();
        }
        let workers = match log.worker_registry() {
            Some(registry) => match registry.workers(Utc::now() - WORKER_ALIVE_WINDOW).await {
                Ok(workers) => Some(Arc::new(workers)),
                Err(error) => {
                    tracing::debug!(%error, "cannot read the live workers; no send warning");
                    None
                }
            },
            None => None,
        };
        *cached = Some((Instant::now(), workers.clone()));
        workers
    }
}

/// The text of the warning.
fn unserved(name: &str, queue: &str, workers: &[WorkerInfo]) -> String {
    let on_queue = workers
        .iter()
        .filter(|w| w.queues.iter().any(|q| q == queue))
        .count();
    format!(
        "no live worker handles {name:?} on queue {queue:?} ({} live worker(s), {on_queue} on \
         that queue); the task waits until one starts",
        workers.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worker(handlers: &[&str], queues: &[&str]) -> WorkerInfo {
        WorkerInfo {
            id: "w".into(),
            host: "h".into(),
            pid: 1,
            concurrency: 1,
            in_flight: 0,
            handlers: handlers.iter().map(|h| (*h).to_owned()).collect(),
            queues: queues.iter().map(|q| (*q).to_owned()).collect(),
            started_at: Utc::now(),
            last_heartbeat: Utc::now(),
        }
    }

    #[test]
    fn the_warning_names_the_task_and_the_queue() {
        let text = unserved("resize", "images", &[worker(&["resize"], &["default"])]);
        assert!(text.contains("\"resize\""), "{text}");
        assert!(text.contains("\"images\""), "{text}");
        assert!(text.contains("1 live worker(s), 0 on that queue"), "{text}");
    }
}
