//! Redis-specific behaviour beyond the conformance suite (which also checks the Lua rule
//! against the Rust one for every pair of states, and `oldest`): out-of-order writes from
//! several connections, TTL expiry with lazy index cleanup, key isolation, and listing by
//! original task (the original is in no index of its own, its retries are).

mod support;

use std::sync::Arc;
use std::time::Duration;

use cogman_core::{
    Cursor, PageRequest, StateChange, TaskFilter, TaskLog, TaskState, WorkerInfo, WorkerRegistry,
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
        queues: vec![],
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
    assert_eq!(
        mine,
        [format!("{}:task:{}", guard.namespace, task.id)],
        "one key per task: the record, with its history (a first attempt has no original index)"
    );
    assert_eq!(
        cogman_testkit::history_states(&log, task.id).await,
        [TaskState::Initiated, TaskState::Queued]
    );
    let namespace = guard.namespace.clone();
    let keys = support::count_keys(&namespace).await;
    assert_eq!(keys, 7, "record, four indexes, two worker keys");
    drop(guard);
    assert_eq!(
        support::count_keys(&namespace).await,
        0,
        "the guard deleted the namespace"
    );
    assert_eq!(log.get(task.id).await.expect("get"), None);
}

#[tokio::test]
async fn listing_by_original_task_pages_through_the_original_and_its_retries() {
    let (log, _guard) = support::fresh_log("original").await;
    let root = sample::task("redis.original");
    let first_retry = root.next_attempt(root.created_at, sample::plus_ms(root.created_at, 1));
    let second_retry =
        first_retry.next_attempt(root.created_at, sample::plus_ms(root.created_at, 2));
    let alone = sample::task("redis.original");
    for task in [&root, &first_retry, &second_retry, &alone] {
        log.create(task).await.expect("create");
    }
    let by_root = TaskFilter {
        original_task_id: Some(root.id),
        ..TaskFilter::default()
    };
    let mut listed = Vec::new();
    let mut after = None;
    loop {
        let page = log
            .list(&by_root, PageRequest { limit: 1, after })
            .await
            .expect("list");
        listed.extend(page.items.iter().map(|t| t.id));
        match page.next {
            Some(Cursor(id)) => after = Some(Cursor(id)),
            None => break,
        }
    }
    assert_eq!(
        listed,
        [second_retry.id, first_retry.id, root.id],
        "newest first, one page at a time, the original last"
    );
    let oldest = log.oldest(&by_root, 2).await.expect("oldest");
    let oldest: Vec<_> = oldest.iter().map(|t| t.id).collect();
    assert_eq!(oldest, [root.id, first_retry.id]);
    let by_alone = TaskFilter {
        original_task_id: Some(alone.id),
        ..TaskFilter::default()
    };
    let page = log
        .list(&by_alone, PageRequest::first(10))
        .await
        .expect("list");
    let ids: Vec<_> = page.items.iter().map(|t| t.id).collect();
    assert_eq!(
        ids,
        [alone.id],
        "a task without retries is its own only attempt"
    );
    let by_retry = TaskFilter {
        original_task_id: Some(first_retry.id),
        ..TaskFilter::default()
    };
    let page = log
        .list(&by_retry, PageRequest::first(10))
        .await
        .expect("list");
    assert!(page.items.is_empty(), "a retry is the original of no task");

    for task in [&root, &first_retry, &second_retry, &alone] {
        let done = StateChange::new(task.id, TaskState::Success);
        log.record(&done).await.expect("record");
    }
    let purged = log
        .purge_before(chrono::Utc::now() + chrono::Duration::seconds(1))
        .await
        .expect("purge");
    assert_eq!(purged, 4);
    assert_eq!(
        support::count_keys(&log.config().namespace).await,
        0,
        "purging every task leaves no record and no index entry"
    );
}

#[tokio::test]
async fn a_broken_record_or_index_fails_only_its_own_writes() {
    let (log, guard) = support::fresh_log("broken").await;
    let task_key = |id: cogman_core::TaskId| format!("{}:task:{id}", guard.namespace);
    let healthy = sample::task("redis.broken");
    let wrong_type = sample::task("redis.broken");
    let unknown_state = sample::task("redis.broken");
    for task in [&healthy, &wrong_type, &unknown_state] {
        log.create(task).await.expect("create");
    }
    let mut admin = support::admin().await;
    let () = admin.del(task_key(wrong_type.id)).await.expect("del");
    let () = admin
        .set(task_key(wrong_type.id), "not a hash")
        .await
        .expect("set");
    let () = admin
        .hset(task_key(unknown_state.id), "status", "bogus")
        .await
        .expect("hset");
    let poisoned = sample::task("redis.poisoned");
    let () = admin
        .set(format!("{}:idx:name:redis.poisoned", guard.namespace), "x")
        .await
        .expect("set");
    let fresh = sample::task("redis.fresh");

    // Sent together, so they tend to share batches.
    let changes: Vec<StateChange> = [&healthy, &wrong_type, &unknown_state]
        .iter()
        .map(|task| StateChange::new(task.id, TaskState::Queued))
        .collect();
    let (records, creates) = tokio::join!(
        futures::future::join_all(changes.iter().map(|change| log.record(change))),
        futures::future::join_all([log.create(&poisoned), log.create(&fresh)]),
    );
    assert_eq!(
        records[0].as_ref().ok(),
        Some(&cogman_core::RecordOutcome::Applied)
    );
    assert!(
        matches!(records[1], Err(cogman_core::TaskLogError::Other(_))),
        "{:?}",
        records[1]
    );
    assert!(
        matches!(records[2], Err(cogman_core::TaskLogError::Corrupt { .. })),
        "{:?}",
        records[2]
    );
    assert!(creates[0].is_err(), "the poisoned index fails its create");
    assert!(creates[1].is_ok(), "{:?}", creates[1]);
    let stored = log.get(healthy.id).await.expect("get").expect("exists");
    assert_eq!(stored.status, TaskState::Queued);
    let stored = log.get(fresh.id).await.expect("get").expect("exists");
    assert_eq!(stored.status, TaskState::Initiated);
}
