//! Delays through the TTL ladder: a short delay is never stuck behind a long one, a delayed
//! task never arrives early, and a task put on a work queue before its run time (by a foreign
//! client) is sent through the ladder instead of being run early.

use std::time::Duration;

use chrono::Utc;
use cogman_amqp::wire;
use cogman_core::{Broker, Priority};
use cogman_testkit::next_within;
use tokio::time::Instant;

use crate::common::{Fixture, Raw, URI, config, task};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_second_task_is_not_stuck_behind_a_one_hour_task() {
    let fx = Fixture::start(config("delay_hol")).await;
    let mut long = task("delay.long", Priority::Low);
    long.run_at = Some(Utc::now() + chrono::Duration::hours(1));
    fx.broker.publish(&long).await.expect("publish 1 h");
    let mut short = task("delay.short", Priority::Low);
    short.run_at = Some(Utc::now() + chrono::Duration::seconds(1));
    let published = Instant::now();
    fx.broker.publish(&short).await.expect("publish 1 s");

    let mut consumer = fx.consumer().await;
    let budget = Duration::from_secs(5).saturating_sub(published.elapsed());
    let delivery = next_within(&mut *consumer, budget)
        .await
        .expect("the 1 s task arrives within 5 s");
    assert_eq!(delivery.task().id, short.id);
    assert!(Some(Utc::now()) >= short.run_at, "not before its run time");
    delivery.ack().await.expect("ack");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_two_second_task_is_not_delivered_early() {
    let fx = Fixture::start(config("delay_early")).await;
    let mut consumer = fx.consumer().await;
    let mut delayed = task("delay.two_seconds", Priority::High);
    let published = Instant::now();
    delayed.run_at = Some(Utc::now() + chrono::Duration::seconds(2));
    fx.broker.publish(&delayed).await.expect("publish");

    let delivery = next_within(&mut *consumer, Duration::from_secs(10))
        .await
        .expect("the delayed task");
    assert!(
        published.elapsed() >= Duration::from_secs(2),
        "delivered after {:?}",
        published.elapsed()
    );
    assert!(Some(Utc::now()) >= delayed.run_at);
    assert_eq!(delivery.task().id, delayed.id);
    assert_eq!(delivery.delivery_count(), 1, "a delay is not a redelivery");
    delivery.ack().await.expect("ack");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_put_on_a_work_queue_before_its_time_waits_for_it() {
    let fx = Fixture::start(config("delay_foreign")).await;
    let mut early = task("delay.foreign", Priority::Low);
    early.run_at = Some(Utc::now() + chrono::Duration::seconds(2));
    let raw = Raw::open(URI).await;
    let queue = fx.topology().queues(Priority::Low)[0].to_string();
    raw.publish(&queue, wire::encode(&early), &early.payload)
        .await;
    raw.close().await;

    let mut consumer = fx.consumer().await;
    let delivery = next_within(&mut *consumer, Duration::from_secs(10))
        .await
        .expect("the task, once due");
    assert!(Some(Utc::now()) >= early.run_at, "not before its run time");
    assert_eq!(delivery.task().id, early.id);
    delivery.ack().await.expect("ack");
}
