//! [`TieredLog`]: the handle over a hot and a durable log, with the breaker that guards calls of
//! the hot log and the queue of its repairs. The trait impls live in `log` and `outbox`.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use cogman_core::{TaskId, TaskLog, TaskLogError};

use crate::breaker::{HOT_CALL_TIMEOUT, HotBreaker};
use crate::repair::Repairs;

/// A hot task log in front of a durable one. See the crate docs.
pub struct TieredLog {
    hot: Arc<dyn TaskLog>,
    durable: Arc<dyn TaskLog>,
    repairs: Repairs,
    breaker: HotBreaker,
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
            repairs: Repairs::new(Arc::clone(&hot), Arc::clone(&durable)),
            hot,
            durable,
            breaker: HotBreaker::default(),
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

    /// Runs a call of the hot log unless the breaker keeps it off; `None` when it was skipped,
    /// failed or took longer than [`HOT_CALL_TIMEOUT`] (which opens the breaker).
    pub(crate) async fn hot_call<T>(
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

    /// Queues a repair of task `id` in the hot log (see `repair`).
    pub(crate) fn repair(&self, id: TaskId) {
        self.repairs.queue(id);
    }

    /// Whether the hot log can answer for the durable one: no repair is waiting or was lost.
    pub(crate) fn hot_is_current(&self) -> bool {
        self.repairs.none_behind()
    }

    /// True when the breaker lets every hot call through (no recent failure).
    #[cfg(test)]
    pub(crate) fn breaker_is_closed(&self) -> bool {
        self.breaker.is_closed()
    }
}
