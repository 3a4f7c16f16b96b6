//! The client's relay: publishes tasks that were accepted while the broker was unreachable —
//! from the memory buffer, and from the durable log's outbox (the seed's re-enqueue) — at
//! start, after a failed publish, and periodically. Retry counts are never changed here.

use std::sync::Arc;
use std::time::Duration;

use super::ClientInner;

/// Unpublished tasks claimed from the outbox per round.
const CLAIM_BATCH: u32 = 100;

pub(super) async fn run(inner: Arc<ClientInner>) {
    let mut pause = Duration::from_millis(100);
    loop {
        let healthy = drain_buffer(&inner).await && drain_outbox(&inner).await;
        pause = if healthy {
            inner.options.relay_interval
        } else {
            (pause * 2).min(Duration::from_secs(5))
        };
        tokio::select! {
            () = inner.shutdown.cancelled() => {
                drain_buffer(&inner).await;
                return;
            }
            () = inner.wake.notified(), if healthy => {}
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// Publishes buffered tasks in order; false when the broker is still unreachable.
async fn drain_buffer(inner: &ClientInner) -> bool {
    loop {
        let next = inner
            .buffer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .front()
            .cloned();
        let Some(task) = next else { return true };
        match inner.publish(&task).await {
            Ok(_) => {
                inner
                    .buffer
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .pop_front();
            }
            Err(error) => {
                tracing::debug!(%error, "buffered tasks wait for the broker");
                return false;
            }
        }
    }
}

/// Publishes tasks the durable log holds as `initiated`; false when the broker is unreachable.
async fn drain_outbox(inner: &ClientInner) -> bool {
    let Some(outbox) = inner.log.outbox() else {
        return true;
    };
    // Tasks younger than this (by the log's clock) may still be mid-send in some client;
    // leave them to it.
    let grace = inner.options.request_timeout * 2;
    let lease = inner.options.request_timeout * 6;
    loop {
        let tasks = match outbox.claim_unpublished(grace, CLAIM_BATCH, lease).await {
            Ok(tasks) => tasks,
            Err(error) => {
                tracing::warn!(%error, "cannot read the outbox");
                return false;
            }
        };
        if tasks.is_empty() {
            return true;
        }
        let claimed = tasks.len();
        for task in tasks {
            if let Err(error) = inner.publish(&task).await {
                tracing::debug!(%error, "outbox waits for the broker");
                return false;
            }
            tracing::info!(task_id = %task.id, "re-enqueued a task accepted while the broker was unreachable");
        }
        if claimed < CLAIM_BATCH as usize {
            return true;
        }
    }
}
