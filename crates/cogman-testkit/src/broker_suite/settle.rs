//! Behaviours of one delivery: the task round-trips, and ack, requeue, dead-letter, and
//! abandonment (consumer dropped, lease run out) each have their effect.

use cogman_core::{Priority, TaskState};

use super::{ABSENCE_WINDOW, consume, consume_queues, must_receive, publish, queued_task};
use crate::delivery::expect_no_delivery;
use crate::sample;
use crate::{BrokerFactory, BrokerFixture as _};

/// Publish then consume gives back the task with every field, delivery count 1.
pub async fn publish_then_consume_round_trips(factory: impl BrokerFactory) {
    let fixture = factory.make().await;
    let broker = fixture.broker();
    let mut task = sample::rich_task("conformance.broker.round_trip");
    task.status = TaskState::Queued;
    task.priority = Priority::High;
    task.run_at = Some(sample::plus_ms(task.created_at, -1000));
    publish(&*broker, &task).await;

    let mut consumer = consume_queues(&*broker, 10, &[task.queue.as_str()]).await;
    let delivery = must_receive(&mut *consumer, "the published task").await;
    assert_eq!(
        delivery.task(),
        &task,
        "the delivered task equals the published one"
    );
    assert_eq!(delivery.delivery_count(), 1, "first delivery");
    delivery.ack().await.expect("ack");
}

/// An acked task is gone: a second consumer gets nothing, even after the lease would have
/// run out.
pub async fn ack_removes_the_task(factory: impl BrokerFactory) {
    let fixture = factory.make().await;
    let broker = fixture.broker();
    let task = queued_task("conformance.broker.ack");
    publish(&*broker, &task).await;
    let mut consumer = consume(&*broker, 10).await;
    let delivery = must_receive(&mut *consumer, "the task").await;
    assert_eq!(delivery.task().id, task.id);
    delivery.ack().await.expect("ack");
    drop(consumer);

    let mut second = consume(&*broker, 10).await;
    expect_no_delivery(&mut *second, ABSENCE_WINDOW)
        .await
        .unwrap_or_else(|err| panic!("after ack: {err}"));
}

/// A requeued task comes back, with delivery count 2.
pub async fn requeue_delivers_again(factory: impl BrokerFactory) {
    let fixture = factory.make().await;
    let broker = fixture.broker();
    let task = queued_task("conformance.broker.requeue");
    publish(&*broker, &task).await;
    let mut consumer = consume(&*broker, 10).await;
    let first = must_receive(&mut *consumer, "the task").await;
    first.requeue().await.expect("requeue");

    let again = must_receive(&mut *consumer, "the requeued task").await;
    assert_eq!(again.task().id, task.id);
    assert_eq!(again.delivery_count(), 2, "second delivery");
    again.ack().await.expect("ack");
}

/// A delivery never settled (its consumer dropped, its lease run out) comes back to another
/// consumer, counted as a redelivery.
pub async fn unsettled_delivery_comes_back(factory: impl BrokerFactory) {
    let fixture = factory.make().await;
    let broker = fixture.broker();
    let task = queued_task("conformance.broker.abandoned");
    publish(&*broker, &task).await;
    let mut consumer = consume(&*broker, 10).await;
    let abandoned = must_receive(&mut *consumer, "the task").await;
    assert_eq!(abandoned.task().id, task.id);
    drop(abandoned);
    drop(consumer);

    let mut second = consume(&*broker, 10).await;
    let again = must_receive(&mut *second, "the abandoned task").await;
    assert_eq!(again.task().id, task.id);
    assert!(
        again.delivery_count() >= 2,
        "counted as a redelivery: {}",
        again.delivery_count()
    );
    again.ack().await.expect("ack");
}

/// A dead-lettered task never comes back.
pub async fn dead_letter_removes_the_task_for_good(factory: impl BrokerFactory) {
    let fixture = factory.make().await;
    let broker = fixture.broker();
    let task = queued_task("conformance.broker.dead_letter");
    publish(&*broker, &task).await;
    let mut consumer = consume(&*broker, 10).await;
    let delivery = must_receive(&mut *consumer, "the task").await;
    delivery
        .dead_letter("conformance: cannot run")
        .await
        .expect("dead letter");
    expect_no_delivery(&mut *consumer, ABSENCE_WINDOW)
        .await
        .unwrap_or_else(|err| panic!("after dead-lettering: {err}"));
}
