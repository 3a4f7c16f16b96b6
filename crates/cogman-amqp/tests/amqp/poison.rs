//! Poison tasks: a task handed out `max_deliveries` times without being settled — requeued, or
//! abandoned by a consumer that went away — is dead-lettered instead of looping. Also checks
//! that a worker's explicit dead-letter carries its reason.

use std::time::Duration;

use cogman_core::{Broker, Priority};
use cogman_testkit::{expect_no_delivery, next_within};

use crate::common::{Fixture, config, dead_letter_reason, task};

const DEADLINE: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_requeued_max_deliveries_times_is_dead_lettered() {
    let mut cfg = config("poison_requeue");
    cfg.max_deliveries = 3;
    let fx = Fixture::start(cfg).await;
    let poison = task("poison.requeue", Priority::High);
    fx.broker.publish(&poison).await.expect("publish");

    let mut consumer = fx.consumer().await;
    let mut counts = Vec::new();
    for _ in 0..3 {
        let delivery = next_within(&mut *consumer, DEADLINE)
            .await
            .expect("a delivery");
        assert_eq!(delivery.task().id, poison.id);
        counts.push(delivery.delivery_count());
        delivery.requeue().await.expect("requeue");
    }
    assert_eq!(counts, [1, 2, 3]);
    expect_no_delivery(&mut *consumer, Duration::from_millis(1500))
        .await
        .expect("not handed out a 4th time");

    let dead = fx.dead_letters(1).await;
    let reason = dead_letter_reason(&dead[0]);
    assert!(reason.starts_with("poison: delivered 3 times"), "{reason}");
    assert_eq!(
        dead[0]
            .delivery
            .properties
            .message_id()
            .as_ref()
            .map(|id| id.to_string()),
        Some(poison.id.to_string())
    );
    assert_eq!(dead[0].delivery.data, poison.payload, "the body is kept");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_keeps_killing_its_consumer_is_dead_lettered() {
    let mut cfg = config("poison_crash");
    cfg.max_deliveries = 2;
    let fx = Fixture::start(cfg).await;
    let poison = task("poison.crash", Priority::Low);
    fx.broker.publish(&poison).await.expect("publish");

    for expected in 1..=2 {
        // A consumer receives the task and "crashes": the delivery is never settled.
        let mut consumer = fx.consumer().await;
        let delivery = next_within(&mut *consumer, DEADLINE)
            .await
            .expect("a delivery");
        assert_eq!(delivery.delivery_count(), expected);
        drop(delivery);
        drop(consumer);
    }
    let mut consumer = fx.consumer().await;
    expect_no_delivery(&mut *consumer, Duration::from_millis(1500))
        .await
        .expect("not handed out a 3rd time");
    let reason = dead_letter_reason(&fx.dead_letters(1).await[0]);
    assert!(reason.starts_with("poison: "), "{reason}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_dead_letter_keeps_the_reason_and_never_comes_back() {
    let fx = Fixture::start(config("dead_letter")).await;
    let doomed = task("poison.explicit", Priority::Low);
    fx.broker.publish(&doomed).await.expect("publish");
    let mut consumer = fx.consumer().await;
    let delivery = next_within(&mut *consumer, DEADLINE)
        .await
        .expect("a delivery");
    delivery
        .dead_letter("unknown task name")
        .await
        .expect("dead letter");
    expect_no_delivery(&mut *consumer, Duration::from_millis(1000))
        .await
        .expect("gone for good");
    assert_eq!(
        dead_letter_reason(&fx.dead_letters(1).await[0]),
        "unknown task name"
    );
}
