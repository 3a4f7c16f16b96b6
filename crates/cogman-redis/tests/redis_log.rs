//! Redis-specific behaviour beyond the conformance suite (which also checks the Lua rule
//! against the Rust one for every pair of states, and `oldest`): out-of-order writes from
//! several connections, TTL expiry with lazy index cleanup, and key isolation.

mod support;

use std::sync::Arc;
use std::time::Duration;

use cogman_core::{
    PageRequest, StateChange, TaskFilter, TaskLog, TaskState, WorkerInfo, WorkerRegistry,
};
use cogman_redis::RedisLog;
use cogman_testkit::{sample, stress, wait_until};
use redis::AsyncCommands as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_writes_from_several_connections_never_go_backwards() {
    let (first, _guard) = support::fresh_log("out-of-order").await;
    let mut logs: Vec<Arc<dyn TaskLog>> = vec![Arc::new(first.clone())];
    for _ in 0..3 {
        let another = RedisLog::connect(first.config().clone())
            .await
            .expect("another connection");
        logs.push(Arc::new(another));
    }
    stress::reversed_writes_never_go_backwards(&logs, 30).await;
}

#[tokio::test]
async fn records_expire_after_the_ttl_and_their_index_entries_are_dropped() {
    let config = support::config("ttl").ttl(Duration::from_secs(1));
    let all_key = format!("{}:idx:all", config.namespace);
    let (log, _guard) = support::fresh_log_with(config).await;
    let expiring: Vec<_> = (0..3).map(|_| sample::task("redis.ttl")).collect();
    for task in &expiring {
        log.create(task).await.expect("create");
    }
    wait_until("the records to expire", Duration::from_secs(10), || {
        let (log, ids) = (
            log.clone(),
            expiring.iter().map(|t| t.id).collect::<Vec<_>>(),
        );
        async move {
            for id in ids {
                if log.get(id).await.expect("get").is_some() {
                    return false;
                }
            }
            true
        }
    })
    .await
    .expect("records expire after their TTL");

    let live = sample::task("redis.ttl");
    log.create(&live).await.expect("create");
    let mut admin = support::admin().await;
    let entries: u64 = admin.zcard(&all_key).await.expect("zcard");
    assert_eq!(entries, 4, "expired records still have index entries");
    let page = log
        .list(&TaskFilter::default(), PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.items[0].id, live.id);
    let entries: u64 = admin.zcard(&all_key).await.expect("zcard");
    assert_eq!(entries, 1, "listing dropped the entries of expired records");
}

#[tokio::test]
async fn every_key_is_inside_the_namespace() {
    let (log, guard) = support::fresh_log("keys").await;
    let task = sample::rich_task("redis.keys");
    log.create(&task).await.expect("create");
    log.record(&StateChange::new(task.id, TaskState::Queued))
        .await
        .expect("record");
    let now = chrono::Utc::now();
    log.heartbeat(&WorkerInfo {
        id: "w1".into(),
        host: "h".into(),
        pid: 1,
        concurrency: 1,
        in_flight: 0,
        handlers: vec![],
        started_at: now,
        last_heartbeat: now,
    })
    .await
    .expect("heartbeat");
    let mut admin = support::admin().await;
    let bare: bool = admin.exists(task.id.to_string()).await.expect("exists");
    assert!(!bare, "no key is a bare task id");
    let mine: Vec<String> = redis::cmd("KEYS")
        .arg(format!("*{}*", task.id))
        .query_async(&mut admin)
        .await
        .expect("keys");
    assert!(
        mine.len() >= 3,
        "record, history and original index: {mine:?}"
    );
    for key in &mine {
        assert!(key.starts_with(&format!("{}:", guard.namespace)), "{key}");
    }
    let namespace = guard.namespace.clone();
    let keys = support::count_keys(&namespace).await;
    assert!(keys >= 8, "record, history, five indexes, workers: {keys}");
    drop(guard);
    assert_eq!(
        support::count_keys(&namespace).await,
        0,
        "the guard deleted the namespace"
    );
    assert_eq!(log.get(task.id).await.expect("get"), None);
}
