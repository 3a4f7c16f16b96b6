//! The worker's heartbeat: announces the worker (id, host, concurrency, in-flight, handlers)
//! to the task log's worker registry every few seconds, and removes it on a clean stop.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use cogman_core::WorkerInfo;

use super::WorkerInner;

/// How often a worker reports.
pub(crate) const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// The machine's host name as the operating system reports it (not `$HOSTNAME`, which only
/// interactive shells set); `"unknown"` if it cannot be read.
pub(crate) fn machine_name() -> String {
    whoami::hostname().unwrap_or_else(|_| "unknown".to_owned())
}

pub(crate) async fn run(inner: Arc<WorkerInner>) {
    let Some(registry) = inner.log.worker_registry() else {
        return;
    };
    let started_at = Utc::now();
    let host = machine_name();
    loop {
        let info = WorkerInfo {
            id: inner.id.clone(),
            host: host.clone(),
            pid: std::process::id(),
            concurrency: inner.options.concurrency,
            in_flight: u32::try_from(inner.stats.snapshot().in_flight).unwrap_or(u32::MAX),
            handlers: inner.registry.names(),
            queues: inner.options.queues.clone(),
            started_at,
            last_heartbeat: Utc::now(),
        };
        if let Err(error) = registry.heartbeat(&info).await {
            tracing::debug!(%error, "heartbeat not stored");
        }
        tokio::select! {
            () = inner.stop.cancelled() => break,
            () = tokio::time::sleep(HEARTBEAT_EVERY) => {}
        }
    }
    if let Err(error) = registry.deregister(&inner.id).await {
        tracing::debug!(%error, "worker not deregistered");
    }
}
