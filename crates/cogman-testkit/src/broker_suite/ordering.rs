//! Behaviours of ordering: high priority before low, delayed tasks not before their run time,
//! and a short delay never stuck behind a long one.

use cogman_core::Priority;

use super::{consume, must_receive, publish, queued_task};
use crate::sample;
use crate::{BrokerFactory, BrokerFixture as _};

/// With 10 low and then 10 high tasks waiting, the 10 high ones are delivered first.
pub async fn high_priority_is_delivered_first(factory: impl BrokerFactory) {
    let fixture = factory.make().await;
    let broker = fixture.broker();
    for priority in [Priority::Low, Priority::High] {
        for _ in 0..10 {
            let mut task = queued_task("conformance.broker.priority");
            task.priority = priority;
            publish(&*broker, &task).await;
        }
    }
    let mut consumer = consume(&*broker, 20).await;
    let mut order = Vec::new();
    for _ in 0..20 {
        let delivery = must_receive(&mut *consumer, "a waiting task").await;
        order.push(delivery.task().priority);
        delivery.ack().await.expect("ack");
    }
    let expected: Vec<_> = [Priority::High; 10]
        .into_iter()
        .chain([Priority::Low; 10])
        .collect();
    assert_eq!(order, expected, "delivery order by priority");
}

/// A task due in 1.5 s is not delivered before its run time, and is delivered after it.
pub async fn delayed_task_waits_for_run_at(factory: impl BrokerFactory) {
    let fixture = factory.make().await;
    let broker = fixture.broker();
    let mut task = queued_task("conformance.broker.delayed");
    task.run_at = Some(sample::plus_ms(sample::now_ms(), 1500));
    publish(&*broker, &task).await;

    let mut consumer = consume(&*broker, 10).await;
    let delivery = must_receive(&mut *consumer, "the delayed task").await;
    let received = chrono::Utc::now();
    assert_eq!(delivery.task().id, task.id);
    assert!(
        Some(received) >= task.run_at,
        "delivered at {received}, before its run time {:?}",
        task.run_at
    );
    delivery.ack().await.expect("ack");
}

/// A task delayed 1 s, published after one delayed 1 hour, is delivered first and soon.
pub async fn short_delay_is_not_blocked_by_long_delay(factory: impl BrokerFactory) {
    let fixture = factory.make().await;
    let broker = fixture.broker();
    let mut long = queued_task("conformance.broker.long_delay");
    long.run_at = Some(sample::plus_ms(sample::now_ms(), 3_600_000));
    let mut short = queued_task("conformance.broker.short_delay");
    short.run_at = Some(sample::plus_ms(sample::now_ms(), 1000));
    publish(&*broker, &long).await;
    publish(&*broker, &short).await;

    let mut consumer = consume(&*broker, 10).await;
    let delivery = must_receive(&mut *consumer, "the short-delay task").await;
    assert_eq!(delivery.task().id, short.id, "the short delay comes first");
    assert!(
        Some(chrono::Utc::now()) >= short.run_at,
        "not before its run time"
    );
    delivery.ack().await.expect("ack");
}
