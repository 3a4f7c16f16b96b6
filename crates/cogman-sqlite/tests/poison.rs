//! Rows that must never loop: a task delivered `max_deliveries` times without an outcome is
//! dead-lettered and recorded `failed`; a malformed row is dead-lettered with the reason and
//! consumption goes on; a delivery whose lease was lost can no longer settle or extend.

mod common;

use std::time::Duration;

use cogman_core::{Broker, ConsumeOptions, DeadLetterStore, TaskLog, TaskState};
use cogman_sqlite::{SqliteOptions, SqliteStore};
use cogman_testkit::{expect_no_delivery, next_within, wait_for_state};

use common::{open, queued, temp_db};

const LEASE: Duration = Duration::from_millis(150);
const DEADLINE: Duration = Duration::from_secs(10);

fn options() -> ConsumeOptions {
    ConsumeOptions {
        prefetch: 1,
        consumer_tag: "poison-test".to_owned(),
        lease: LEASE,
        ..ConsumeOptions::default()
    }
}

fn store_with_limit(path: &std::path::Path, max_deliveries: u32) -> SqliteStore {
    open(
        SqliteOptions::new(path)
            .with_max_deliveries(max_deliveries)
            .with_poll_interval(Duration::from_millis(20)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_never_settled_is_dead_lettered_after_max_deliveries() {
    let (_dir, path) = temp_db();
    let store = store_with_limit(&path, 3);
    let task = queued("poison.crasher");
    store.create(&task).await.expect("create");
    store.publish(&task).await.expect("publish");

    let mut consumer = store.consume(options()).await.expect("consume");
    for attempt in 1..=3 {
        let delivery = next_within(&mut *consumer, DEADLINE)
            .await
            .expect("a delivery");
        assert_eq!(delivery.task().id, task.id);
        assert_eq!(delivery.delivery_count(), attempt);
        drop(delivery); // the worker "crashes": no outcome, no settlement
    }
    // The fourth claim finds it poisoned: nothing is delivered, the task is failed.
    expect_no_delivery(&mut *consumer, LEASE * 6)
        .await
        .unwrap_or_else(|err| panic!("poison was delivered again: {err}"));
    let failed = wait_for_state(&store, task.id, TaskState::Failed, DEADLINE)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
    let expected = "dead-lettered after 3 deliveries without an outcome (worker crashed?)";
    assert_eq!(failed.fail_error.as_deref(), Some(expected));

    let dead = store
        .dead_letters(None, 10)
        .await
        .expect("dead letters")
        .items;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].entry.reason, expected);
    assert_eq!(dead[0].entry.task.as_ref().map(|t| t.id), Some(task.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_row_is_dead_lettered_and_consumption_continues() {
    let (_dir, path) = temp_db();
    let store = store_with_limit(&path, 10);
    let broken = queued("poison.malformed");
    let good = queued("poison.good");
    store.create(&broken).await.expect("create");
    store.publish(&broken).await.expect("publish");
    store.publish(&good).await.expect("publish");

    // A foreign writer corrupts the first row.
    let raw = rusqlite::Connection::open(&path).expect("open raw");
    raw.busy_timeout(Duration::from_secs(5))
        .expect("busy timeout");
    let changed = raw
        .execute(
            "UPDATE queue SET task = '{not json' WHERE task_id = ?1",
            [broken.id.to_string()],
        )
        .expect("corrupt the row");
    assert_eq!(changed, 1);

    let mut consumer = store.consume(options()).await.expect("consume");
    let delivery = next_within(&mut *consumer, DEADLINE)
        .await
        .expect("the good task");
    assert_eq!(delivery.task().id, good.id, "the malformed row is skipped");
    delivery.ack().await.expect("ack");

    let dead = store
        .dead_letters(None, 10)
        .await
        .expect("dead letters")
        .items;
    assert_eq!(dead.len(), 1);
    let entry = &dead[0].entry;
    assert_eq!(entry.task_id, Some(broken.id));
    assert!(
        entry.reason.starts_with("malformed task row"),
        "reason: {}",
        entry.reason
    );
    assert_eq!(entry.task, None, "the row could not be decoded");
    let record = store.get(broken.id).await.expect("get").expect("record");
    assert_eq!(record.status, TaskState::Failed);
    assert_eq!(record.fail_error, Some(entry.reason.clone()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_lease_cannot_settle_or_extend() {
    let (_dir, path) = temp_db();
    let store = store_with_limit(&path, 10);
    let task = queued("lease.lost");
    store.publish(&task).await.expect("publish");

    let mut first = store.consume(options()).await.expect("consume");
    let stale = next_within(&mut *first, DEADLINE)
        .await
        .expect("first delivery");
    let mut second = store.consume(options()).await.expect("consume");
    let current = next_within(&mut *second, DEADLINE)
        .await
        .expect("redelivery after the lease");
    assert_eq!(current.task().id, task.id);
    assert_eq!(current.delivery_count(), 2);

    assert!(
        stale.extend_lease(Duration::from_secs(60)).await.is_err(),
        "extend with a stale token"
    );
    assert!(stale.ack().await.is_err(), "ack with a stale token");
    current
        .extend_lease(Duration::from_secs(60))
        .await
        .expect("the current holder extends");
    current.ack().await.expect("the current holder acks");
    expect_no_delivery(&mut *second, LEASE * 4)
        .await
        .unwrap_or_else(|err| panic!("acked task came back: {err}"));
}
