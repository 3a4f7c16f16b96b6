//! Several stores opened on one file, as separate processes would: tasks published through one
//! are consumed through the others, each exactly once; and a store reopened after being dropped
//! still holds its queued tasks and its log (restart durability); and stores opened at the same
//! moment on a fresh file all open (no `database is locked` while one of them migrates).

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cogman_core::{Broker, ConsumeOptions, Consumer, TaskId, TaskLog, TaskState};
use cogman_sqlite::SqliteOptions;
use cogman_testkit::{NextError, next_within};
use tokio::time::Instant;

use common::{open, queue_stats, queued, temp_db};

const TASKS: usize = 300;

fn options(tag: &str) -> ConsumeOptions {
    ConsumeOptions {
        prefetch: 8,
        consumer_tag: tag.to_owned(),
        lease: Duration::from_secs(30),
        ..ConsumeOptions::default()
    }
}

/// Receives and acks until `TASKS` are acked in total or the deadline passes. The first
/// delivery is held (unacked, its lease keeps it from the other consumer) until every consumer
/// of `first_in_hand` has one in hand, so each consumer surely takes part however fast the
/// other is.
async fn drain(
    mut consumer: Box<dyn Consumer>,
    acked: Arc<AtomicUsize>,
    first_in_hand: Arc<tokio::sync::Barrier>,
) -> Vec<TaskId> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut mine = Vec::new();
    while acked.load(Ordering::SeqCst) < TASKS && Instant::now() < deadline {
        match next_within(&mut *consumer, Duration::from_millis(100)).await {
            Ok(delivery) => {
                mine.push(delivery.task().id);
                if mine.len() == 1 {
                    first_in_hand.wait().await;
                }
                delivery.ack().await.expect("ack");
                acked.fetch_add(1, Ordering::SeqCst);
            }
            Err(NextError::Timeout(_)) => {}
            Err(err) => panic!("next: {err}"),
        }
    }
    mine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_published_by_one_store_are_consumed_once_through_two_others() {
    let (_dir, path) = temp_db();
    // Short polls: these stores share no in-process wake-up, like separate processes.
    let opts = SqliteOptions::new(&path).with_poll_interval(Duration::from_millis(20));
    let client = open(opts.clone());
    let worker_a = open(opts.clone());
    let worker_b = open(opts);

    let acked = Arc::new(AtomicUsize::new(0));
    let first_in_hand = Arc::new(tokio::sync::Barrier::new(2));
    let a = tokio::spawn(drain(
        worker_a.consume(options("a")).await.expect("consume a"),
        Arc::clone(&acked),
        Arc::clone(&first_in_hand),
    ));
    let b = tokio::spawn(drain(
        worker_b.consume(options("b")).await.expect("consume b"),
        Arc::clone(&acked),
        first_in_hand,
    ));
    let tasks: Vec<_> = (0..TASKS).map(|_| queued("shared.file")).collect();
    for task in &tasks {
        client.publish(task).await.expect("publish");
    }
    let (a, b) = (a.await.expect("consumer a"), b.await.expect("consumer b"));

    let all: Vec<_> = a.iter().chain(&b).copied().collect();
    let distinct: HashSet<_> = all.iter().copied().collect();
    assert_eq!(distinct.len(), all.len(), "a task was delivered twice");
    assert_eq!(
        distinct,
        tasks.iter().map(|t| t.id).collect::<HashSet<_>>(),
        "every task was delivered"
    );
    assert!(
        !a.is_empty() && !b.is_empty(),
        "both consumers took part ({} / {})",
        a.len(),
        b.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_store_still_holds_queued_tasks_and_records() {
    let (_dir, path) = temp_db();
    let tasks: Vec<_> = (0..5).map(|_| queued("restart")).collect();
    {
        let store = open(SqliteOptions::new(&path));
        for task in &tasks {
            store.create(task).await.expect("create");
            store.publish(task).await.expect("publish");
        }
        // Claim one and never settle it: the worker dies mid-task.
        let mut consumer = store
            .consume(ConsumeOptions {
                prefetch: 1,
                ..options("doomed")
            })
            .await
            .expect("consume");
        let claimed = next_within(&mut *consumer, Duration::from_secs(5))
            .await
            .expect("claim");
        assert_eq!(claimed.task().id, tasks[0].id);
    }

    let store = open(SqliteOptions::new(&path));
    for task in &tasks {
        let record = store
            .get(task.id)
            .await
            .expect("get")
            .expect("record survived");
        assert_eq!(record.status, TaskState::Queued);
    }
    let mut consumer = store
        .consume(options("after-restart"))
        .await
        .expect("consume");
    let mut seen = HashSet::new();
    for _ in 0..4 {
        let delivery = next_within(&mut *consumer, Duration::from_secs(5))
            .await
            .expect("a queued task");
        seen.insert(delivery.task().id);
        delivery.ack().await.expect("ack");
    }
    let unclaimed: HashSet<_> = tasks[1..].iter().map(|t| t.id).collect();
    assert_eq!(
        seen, unclaimed,
        "the tasks never claimed are delivered after the restart"
    );

    // The one claimed before the "crash" is leased for 30 s; the queue still holds it.
    let stats = queue_stats(&store).await;
    let in_flight: u64 = stats.iter().map(|s| s.in_flight).sum();
    assert_eq!(
        in_flight, 1,
        "the task claimed before the crash is still held: {stats:?}"
    );
}

#[test]
fn stores_opened_at_the_same_moment_on_a_fresh_file_all_open() {
    for round in 0..30 {
        let (_dir, path) = temp_db();
        let barrier = Arc::new(std::sync::Barrier::new(4));
        let openers: Vec<_> = (0..4)
            .map(|_| {
                let (barrier, path) = (Arc::clone(&barrier), path.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    cogman_sqlite::SqliteStore::open(SqliteOptions::new(path))
                        .map(drop)
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        for opener in openers {
            let opened = opener.join().expect("opener thread");
            assert!(opened.is_ok(), "round {round}: {opened:?}");
        }
    }
}
