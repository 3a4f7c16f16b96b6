//! Consumer behaviours specific to the SQLite broker: leases of tasks buffered but never
//! handed out are given back when the consumer is dropped, publishing is idempotent on the task
//! id, and queue statistics count ready, scheduled, in-flight and dead tasks.

mod common;

use std::time::Duration;

use cogman_core::{Broker, ConsumeOptions, Priority};
use cogman_sqlite::{DEAD_LETTER_QUEUE, HIGH_QUEUE, LOW_QUEUE, SqliteOptions};
use cogman_testkit::{expect_no_delivery, next_within, sample};

use common::{open, queue_stats, queued, temp_db};

const DEADLINE: Duration = Duration::from_secs(10);

fn options(prefetch: u16) -> ConsumeOptions {
    ConsumeOptions {
        prefetch,
        consumer_tag: "consumer-test".to_owned(),
        lease: Duration::from_secs(60),
        ..ConsumeOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_consumer_gives_back_tasks_it_never_handed_out() {
    let (_dir, path) = temp_db();
    let store = open(SqliteOptions::new(&path));
    let tasks: Vec<_> = (0..5).map(|_| queued("release")).collect();
    for task in &tasks {
        store.publish(task).await.expect("publish");
    }
    let mut first = store.consume(options(10)).await.expect("consume");
    let taken = next_within(&mut *first, DEADLINE).await.expect("one task");
    drop(first); // it had claimed all five; four were never handed out

    // The lease is 60 s, so only a release makes them available now.
    let mut second = store.consume(options(10)).await.expect("consume");
    let mut rest = Vec::new();
    for _ in 0..4 {
        let delivery = next_within(&mut *second, DEADLINE)
            .await
            .expect("a released task");
        assert_eq!(delivery.delivery_count(), 1, "a release is not a delivery");
        rest.push(delivery.task().id);
        delivery.ack().await.expect("ack");
    }
    let expected: Vec<_> = tasks
        .iter()
        .map(|t| t.id)
        .filter(|id| *id != taken.task().id)
        .collect();
    assert_eq!(rest, expected, "released tasks keep their order");
    taken
        .ack()
        .await
        .expect("the handed-out delivery is still settled normally");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_a_task_twice_queues_it_once() {
    let (_dir, path) = temp_db();
    let store = open(SqliteOptions::new(&path));
    let task = queued("idempotent");
    store.publish(&task).await.expect("publish");
    store.publish(&task).await.expect("publish again");
    let mut consumer = store.consume(options(10)).await.expect("consume");
    next_within(&mut *consumer, DEADLINE)
        .await
        .expect("the task")
        .ack()
        .await
        .expect("ack");
    expect_no_delivery(&mut *consumer, Duration::from_millis(300))
        .await
        .unwrap_or_else(|err| panic!("a second copy was queued: {err}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_stats_count_each_kind_of_task() {
    let (_dir, path) = temp_db();
    let store = open(SqliteOptions::new(&path));
    let mut high = queued("stats.high");
    high.priority = Priority::High;
    let doomed = queued("stats.doomed");
    let ready = queued("stats.ready");
    let mut later = queued("stats.later");
    later.run_at = Some(sample::plus_ms(sample::now_ms(), 3_600_000));
    for task in [&high, &doomed, &ready, &later] {
        store.publish(task).await.expect("publish");
    }
    let mut consumer = store.consume(options(1)).await.expect("consume");
    let in_flight = next_within(&mut *consumer, DEADLINE)
        .await
        .expect("the high task");
    assert_eq!(in_flight.task().id, high.id);
    let dead = next_within(&mut *consumer, DEADLINE)
        .await
        .expect("the first low task");
    assert_eq!(dead.task().id, doomed.id);
    dead.dead_letter("stats test").await.expect("dead letter");

    let stats = queue_stats(&store).await;
    let find = |name: &str| {
        stats
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .expect("queue listed")
    };
    let (h, l, d) = (find(HIGH_QUEUE), find(LOW_QUEUE), find(DEAD_LETTER_QUEUE));
    assert_eq!(
        (h.ready, h.scheduled, h.in_flight),
        (0, 0, 1),
        "high: {h:?}"
    );
    assert_eq!((l.ready, l.scheduled, l.in_flight), (1, 1, 0), "low: {l:?}");
    assert_eq!(d.ready, 1, "dead letters: {d:?}");
    in_flight.ack().await.expect("ack");
}
