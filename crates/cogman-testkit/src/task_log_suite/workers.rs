//! Behaviours of the optional [`WorkerRegistry`](cogman_core::WorkerRegistry) ability:
//! heartbeats are stored and updated, listed by recency, and removed on deregistration.

use chrono::TimeDelta;
use cogman_core::WorkerInfo;

use crate::fixture::offered;
use crate::sample;
use crate::{LogFactory, LogFixture as _};

fn worker(id: &str, last_heartbeat: chrono::DateTime<chrono::Utc>) -> WorkerInfo {
    WorkerInfo {
        id: id.to_owned(),
        host: "host-a".to_owned(),
        pid: 4242,
        concurrency: 8,
        in_flight: 1,
        handlers: vec!["email.send".to_owned(), "report.build".to_owned()],
        queues: vec!["default".to_owned(), "img.resize".to_owned()],
        started_at: last_heartbeat - TimeDelta::minutes(1),
        last_heartbeat,
    }
}

fn sorted(mut workers: Vec<WorkerInfo>) -> Vec<WorkerInfo> {
    workers.sort_by(|a, b| a.id.cmp(&b.id));
    workers
}

/// Heartbeats are stored whole and replaced by newer ones; `workers(since)` leaves out stale
/// ones; `deregister` removes a worker.
pub async fn worker_registry_heartbeat_list_deregister(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let Some(registry) = offered(
        log.worker_registry(),
        "worker_registry_heartbeat_list_deregister",
        "worker registry",
    ) else {
        return;
    };
    let now = sample::now_ms();
    let a = worker("worker-a", now);
    let b = worker("worker-b", now);
    let stale = worker("worker-stale", now - TimeDelta::hours(1));
    for info in [&a, &b, &stale] {
        registry.heartbeat(info).await.expect("heartbeat");
    }
    let since = now - TimeDelta::minutes(5);
    assert_eq!(
        sorted(registry.workers(since).await.expect("workers")),
        vec![a.clone(), b.clone()],
        "live workers, whole"
    );

    let a2 = WorkerInfo {
        in_flight: 7,
        queues: vec!["mail".to_owned()],
        last_heartbeat: now + TimeDelta::seconds(1),
        ..a.clone()
    };
    registry.heartbeat(&a2).await.expect("second heartbeat");
    registry.deregister(&b.id).await.expect("deregister");
    assert_eq!(
        registry.workers(since).await.expect("workers"),
        vec![a2],
        "the latest heartbeat replaces the first; deregistered workers are gone"
    );
    registry
        .deregister("worker-never-seen")
        .await
        .expect("deregister an unknown worker");
}
