//! Redis-specific behaviour beyond the conformance suite: the Lua rule against the Rust one
//! for every pair of states, out-of-order writes from several connections, TTL expiry with
//! lazy index cleanup, and key isolation.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cogman_core::{
    PageRequest, RecordOutcome, StateChange, TaskFilter, TaskLog, TaskState, Transition,
    WorkerInfo, WorkerRegistry,
};
use cogman_redis::RedisLog;
use cogman_testkit::{sample, wait_until};
use redis::AsyncCommands as _;

#[tokio::test]
async fn every_pair_of_states_follows_the_rust_rule() {
    let (log, _guard) = support::fresh_log("pairs").await;
    for from in TaskState::ALL {
        for to in TaskState::ALL {
            let mut task = sample::task("redis.pairs");
            task.status = from;
            log.create(&task).await.expect("create");
            let outcome = log
                .record(&StateChange::new(task.id, to))
                .await
                .expect("record");
            let (want_outcome, want_state) = match from.transition_to(to) {
                Transition::Advance => (RecordOutcome::Applied, to),
                Transition::Same => (RecordOutcome::Unchanged, from),
                Transition::Stale => (RecordOutcome::Stale { current: from }, from),
            };
            assert_eq!(outcome, want_outcome, "{from} -> {to}");
            let stored = log.get(task.id).await.expect("get").expect("record exists");
            assert_eq!(stored.status, want_state, "{from} -> {to}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_writes_from_several_connections_never_go_backwards() {
    let (first, _guard) = support::fresh_log("out-of-order").await;
    let mut logs = vec![first.clone()];
    for _ in 0..3 {
        logs.push(
            RedisLog::connect(first.config().clone())
                .await
                .expect("second connection"),
        );
    }
    let finals = [TaskState::Success, TaskState::Failed, TaskState::Cancelled];
    let tasks: Vec<_> = (0..30).map(|_| sample::task("redis.order")).collect();
    for task in &tasks {
        first.create(task).await.expect("create");
    }
    // Every task gets all its changes, newest first, spread over the connections.
    let mut writes = Vec::new();
    for (i, task) in tasks.iter().enumerate() {
        let path = [
            TaskState::Scheduled,
            TaskState::Queued,
            TaskState::InProgress,
            finals[i % finals.len()],
        ];
        for state in path.into_iter().rev() {
            writes.push(StateChange::new(task.id, state));
        }
    }
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (log, done, ids) = (
            first.clone(),
            Arc::clone(&done),
            tasks.iter().map(|t| t.id).collect::<Vec<_>>(),
        );
        tokio::spawn(async move {
            let mut seen: HashMap<_, u8> = HashMap::new();
            let mut polls = 0;
            while !done.load(Ordering::Acquire) || polls == 0 {
                polls += 1;
                for id in &ids {
                    let task = log.get(*id).await.expect("get").expect("exists");
                    let before = seen.insert(*id, task.status.rank()).unwrap_or(0);
                    assert!(
                        task.status.rank() >= before,
                        "{id} went backwards to {}",
                        task.status
                    );
                }
            }
            polls
        })
    };
    let mut writers = tokio::task::JoinSet::new();
    for (w, log) in logs.iter().enumerate() {
        let log = log.clone();
        let mine: Vec<_> = writes.iter().skip(w).step_by(logs.len()).cloned().collect();
        writers.spawn(async move {
            for change in mine {
                log.record(&change).await.expect("record");
            }
        });
    }
    while let Some(joined) = writers.join_next().await {
        joined.expect("writer");
    }
    done.store(true, Ordering::Release);
    assert!(watcher.await.expect("watcher") > 0);
    for (i, task) in tasks.iter().enumerate() {
        let stored = first.get(task.id).await.expect("get").expect("exists");
        assert_eq!(stored.status, finals[i % finals.len()], "task {i}");
        let history = first.history(task.id).await.expect("history");
        let ranks: Vec<u8> = history.iter().map(|c| c.state.rank()).collect();
        assert!(
            ranks.windows(2).all(|w| w[0] < w[1]),
            "history {ranks:?} only advances"
        );
    }
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
    let deleted = support::delete_namespace(&guard.namespace).expect("delete namespace");
    assert!(
        deleted >= 8,
        "record, history, five indexes, workers: {deleted}"
    );
    assert_eq!(log.get(task.id).await.expect("get"), None);
}

#[tokio::test]
async fn oldest_reads_the_indexes_oldest_first() {
    let (log, _guard) = support::fresh_log("oldest").await;
    let base = sample::now_ms() - chrono::TimeDelta::hours(5);
    let mut tasks = Vec::new();
    for i in 0..12 {
        let mut task =
            sample::task_created_at("redis.oldest", base + chrono::TimeDelta::minutes(i));
        task.status = if i % 3 == 0 {
            TaskState::Queued
        } else {
            TaskState::Success
        };
        tasks.push(task);
    }
    // Created out of order: the answer follows creation time, not insertion.
    for task in tasks.iter().rev() {
        log.create(task).await.expect("create");
    }
    let queued = TaskFilter {
        statuses: vec![TaskState::Queued, TaskState::Initiated],
        ..TaskFilter::default()
    };
    let oldest: Vec<_> = log
        .oldest(&queued, 2)
        .await
        .expect("oldest")
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(oldest, vec![tasks[0].id, tasks[3].id]);
    let all: Vec<_> = log
        .oldest(&TaskFilter::default(), 1000)
        .await
        .expect("oldest")
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(all, tasks.iter().map(|t| t.id).collect::<Vec<_>>());
}
