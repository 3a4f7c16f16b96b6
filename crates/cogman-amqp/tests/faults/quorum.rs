//! Quorum queues (`queue_type = quorum`) on a private node: every queue is declared quorum,
//! tasks due now and delayed ones make the round trip, and the poison guard counts the
//! broker's `x-delivery-count` like the classic one counts its own header.

use std::time::Duration;

use chrono::Utc;
use cogman_amqp::QueueType;
use cogman_core::{Broker, Priority};
use cogman_testkit::servers::PrivateRabbit;
use cogman_testkit::{expect_no_delivery, next_within};
use lapin::options::QueueDeclareOptions;
use lapin::types::{AMQPValue, FieldTable, LongString};

use crate::common::{Fixture, Raw, config_on, dead_letter_reason, task};

const DEADLINE: Duration = Duration::from_secs(30);

async fn quorum_broker(node: &PrivateRabbit, label: &str, max_deliveries: u32) -> Fixture {
    let mut cfg = config_on(&node.uri(), label);
    cfg.queue_type = QueueType::Quorum;
    cfg.max_deliveries = max_deliveries;
    Fixture::start(cfg).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quorum_queues_carry_tasks_due_now_and_delayed_and_guard_against_poison() {
    let node = PrivateRabbit::start().await.expect("a private node boots");
    let fx = quorum_broker(&node, "quorum", 2).await;
    let prefix = fx.broker.config().queue_prefix.clone();

    // Every queue of the installation is a quorum queue, as the node itself says.
    let listed = node
        .ctl_output(&[
            "list_queues",
            "name",
            "type",
            "--no-table-headers",
            "--quiet",
        ])
        .await
        .expect("list_queues");
    let ours: Vec<&str> = listed.lines().filter(|l| l.starts_with(&prefix)).collect();
    assert_eq!(ours.len(), fx.topology().all_queues().count(), "{listed}");
    assert!(ours.iter().all(|l| l.ends_with("quorum")), "{listed}");

    // Redeclaring a work queue as classic is refused: it is a quorum queue.
    let raw = Raw::open(&node.uri()).await;
    let mut classic = FieldTable::default();
    classic.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from("classic")),
    );
    let high = fx.topology().queues(Priority::High)[0].clone();
    let refused = raw
        .channel
        .queue_declare(high, QueueDeclareOptions::durable(), classic)
        .await
        .expect_err("a classic redeclaration is refused");
    assert!(
        refused.to_string().contains("PRECONDITION_FAILED"),
        "{refused}"
    );
    drop(raw);

    // Due now and delayed tasks both arrive.
    let now = task("quorum.now", Priority::High);
    let mut later = task("quorum.later", Priority::Low);
    let run_at = Utc::now() + chrono::TimeDelta::seconds(2);
    later.run_at = Some(run_at);
    fx.broker.publish(&now).await.expect("publish now");
    fx.broker.publish(&later).await.expect("publish delayed");
    let mut consumer = fx.consumer().await;
    let first = next_within(&mut *consumer, DEADLINE).await.expect("a task");
    assert_eq!(first.task().id, now.id);
    assert_eq!(first.delivery_count(), 1);
    first.ack().await.expect("ack");
    let second = next_within(&mut *consumer, DEADLINE)
        .await
        .expect("the delayed task");
    assert_eq!(second.task().id, later.id);
    assert!(Utc::now() >= run_at, "delivered before its run time");
    second.ack().await.expect("ack");

    // Poison: handed out max_deliveries (2) times, counted by the broker, then dead-lettered.
    let poison = task("quorum.poison", Priority::High);
    fx.broker.publish(&poison).await.expect("publish poison");
    let mut counts = Vec::new();
    for _ in 0..2 {
        let delivery = next_within(&mut *consumer, DEADLINE)
            .await
            .expect("a delivery");
        assert_eq!(delivery.task().id, poison.id);
        counts.push(delivery.delivery_count());
        delivery.requeue().await.expect("requeue");
    }
    assert_eq!(counts, [1, 2]);
    expect_no_delivery(&mut *consumer, Duration::from_millis(1500))
        .await
        .expect("not handed out a 3rd time");
    let dead = fx.dead_letters(1).await;
    let reason = dead_letter_reason(&dead[0]);
    assert!(reason.starts_with("poison: delivery 3"), "{reason}");
}
