//! Behaviours of named queues: a consumer gets the tasks of the queues it serves and no other,
//! high priority first across them, and a delayed task sent to a named queue arrives there.

use cogman_core::{Broker, Priority};

use super::{
    ABSENCE_WINDOW, DELIVERY_DEADLINE, consume, consume_queues, must_receive, publish, queued_task,
};
use crate::delivery::expect_no_delivery;
use crate::sample;
use crate::wait::wait_until;
use crate::{BrokerFactory, BrokerFixture as _};

/// Tasks on `conf.a`, `conf.b` and `default`: a consumer of `conf.a` gets only those of
/// `conf.a`; a consumer of `conf.b` and `conf.a` gets the high ones of both before the low
/// ones; the `default` consumer gets only the `default` task.
pub async fn a_consumer_gets_only_the_named_queues_it_serves(factory: impl BrokerFactory) {
    let fixture = factory.make().await;
    let broker = fixture.broker();
    let task_on = |queue: &str, priority: Priority| {
        let mut task = queued_task("conformance.broker.queues");
        task.queue = queue.to_owned();
        task.priority = priority;
        task
    };
    let a_low = task_on("conf.a", Priority::Low);
    let b_low = task_on("conf.b", Priority::Low);
    let a_high = task_on("conf.a", Priority::High);
    let b_high = task_on("conf.b", Priority::High);
    let on_default = task_on("default", Priority::High);
    for task in [&a_low, &b_low, &on_default] {
        publish(&*broker, task).await;
    }

    // Only conf.a's task, and nothing else, to a consumer of conf.a.
    let mut only_a = consume_queues(&*broker, 10, &["conf.a"]).await;
    let delivery = must_receive(&mut *only_a, "the task of conf.a").await;
    assert_eq!(delivery.task().id, a_low.id, "conf.a's task");
    assert_eq!(delivery.task().queue, "conf.a", "its queue is kept");
    delivery.ack().await.expect("ack");
    expect_no_delivery(&mut *only_a, ABSENCE_WINDOW)
        .await
        .unwrap_or_else(|err| panic!("a consumer of conf.a got another queue's task: {err}"));
    drop(only_a);

    // The high tasks of both served queues before the low one.
    publish(&*broker, &a_high).await;
    publish(&*broker, &b_high).await;
    let mut both = consume_queues(&*broker, 10, &["conf.b", "conf.a"]).await;
    handed_out(&*broker, &["conf.a", "conf.b"]).await;
    let mut got = Vec::new();
    for _ in 0..3 {
        let delivery = must_receive(&mut *both, "a task of conf.a or conf.b").await;
        got.push((delivery.task().id, delivery.task().priority));
        delivery.ack().await.expect("ack");
    }
    let priorities: Vec<Priority> = got.iter().map(|(_, p)| *p).collect();
    assert_eq!(
        priorities,
        [Priority::High, Priority::High, Priority::Low],
        "high before low across the served queues"
    );
    let mut ids: Vec<_> = got.iter().map(|(id, _)| *id).collect();
    ids.sort();
    let mut expected = vec![a_high.id, b_high.id, b_low.id];
    expected.sort();
    assert_eq!(ids, expected, "the tasks of conf.a and conf.b");
    expect_no_delivery(&mut *both, ABSENCE_WINDOW)
        .await
        .unwrap_or_else(|err| panic!("the default task reached conf.a/conf.b: {err}"));
    drop(both);

    let mut default = consume(&*broker, 10).await;
    let delivery = must_receive(&mut *default, "the default task").await;
    assert_eq!(delivery.task().id, on_default.id);
    delivery.ack().await.expect("ack");
}

/// Waits until the broker has handed every ready task of `queues` to a consumer (when it can
/// count them), so the consumer's choice between high and low is made among all of them,
/// not among those that happened to arrive first.
async fn handed_out(broker: &dyn Broker, queues: &[&str]) {
    let Some(source) = broker.queue_stats_source() else {
        return;
    };
    wait_until(
        "the served queues' tasks to be handed out",
        DELIVERY_DEADLINE,
        || async {
            source
                .queue_stats()
                .await
                .unwrap_or_else(|err| panic!("queue_stats: {err}"))
                .iter()
                .filter(|q| q.priority.is_some() && queues.iter().any(|n| q.name.contains(n)))
                .all(|q| q.ready == 0)
        },
    )
    .await
    .unwrap_or_else(|err| panic!("{err}"));
}

/// A task sent to a named queue with a 1 s delay arrives on that queue after its run time.
pub async fn delayed_task_to_a_named_queue_arrives(factory: impl BrokerFactory) {
    let fixture = factory.make().await;
    let broker = fixture.broker();
    let mut task = queued_task("conformance.broker.queue_delay");
    task.queue = "conf.delayed".to_owned();
    task.run_at = Some(sample::plus_ms(sample::now_ms(), 1000));
    publish(&*broker, &task).await;

    let mut consumer = consume_queues(&*broker, 10, &["conf.delayed"]).await;
    let delivery = must_receive(&mut *consumer, "the delayed task of conf.delayed").await;
    assert_eq!(delivery.task().id, task.id);
    assert_eq!(delivery.task().queue, "conf.delayed");
    assert!(
        Some(chrono::Utc::now()) >= task.run_at,
        "not before its run time"
    );
    delivery.ack().await.expect("ack");
}
