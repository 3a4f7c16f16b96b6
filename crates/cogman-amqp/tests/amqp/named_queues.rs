//! Named queues on RabbitMQ: a named queue's sets are declared on first publish with the seed's
//! arguments (high `default` mode, low `lazy`) and hold its tasks apart from `default`; a
//! message taken from a named queue's set belongs to that queue; and a delayed task to a named
//! queue whose work queue names end like a `default` one reaches that queue only.

use std::time::Duration;

use chrono::Utc;
use cogman_amqp::wire;
use cogman_core::{Broker, ConsumeOptions, Consumer, Priority};
use cogman_testkit::{expect_no_delivery, next_within};
use lapin::Connection;
use lapin::options::{QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable, LongString};

use crate::common::{Fixture, Raw, URI, config, task};

/// Declares `queue` durable with `x-queue-mode = mode` on a fresh channel: Ok when the queue
/// exists with exactly these arguments (or did not exist), an error (406) when it differs.
async fn declare_with_mode(connection: &Connection, queue: &str, mode: &str) -> lapin::Result<()> {
    let channel = connection.create_channel().await?;
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-mode".into(),
        AMQPValue::LongString(LongString::from(mode)),
    );
    channel
        .queue_declare(queue.into(), QueueDeclareOptions::durable(), args)
        .await?;
    channel.close(200, "checked".into()).await
}

async fn consume(fx: &Fixture, queues: &[&str]) -> Box<dyn Consumer> {
    fx.broker
        .consume(ConsumeOptions {
            queues: queues.iter().map(|q| (*q).to_owned()).collect(),
            ..ConsumeOptions::default()
        })
        .await
        .expect("consume")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_named_queue_gets_its_own_sets_with_the_seeds_arguments_on_first_publish() {
    let fx = Fixture::start(config("named_args")).await;
    let prefix = fx.broker.config().queue_prefix.clone();
    let (high, low) = (
        format!("{prefix}img.high_priority_queue_0"),
        format!("{prefix}img.low_priority_queue_0"),
    );
    let mut t = task("named.args", Priority::Low);
    t.queue = "img".into();
    fx.broker.publish(&t).await.expect("publish to img");
    let mut h = task("named.args", Priority::High);
    h.queue = "img".into();
    fx.broker.publish(&h).await.expect("publish to img, high");

    let raw = Raw::open(URI).await;
    assert_eq!(raw.ready(&low).await, 1, "the low task is on img's low set");
    assert_eq!(
        raw.ready(&high).await,
        1,
        "the high task is on img's high set"
    );
    let default_low = fx.topology().queues(Priority::Low)[0].to_string();
    assert_eq!(raw.ready(&default_low).await, 0, "nothing on default's set");

    declare_with_mode(&raw.connection, &high, "default")
        .await
        .expect("the high queue is in default mode");
    declare_with_mode(&raw.connection, &low, "lazy")
        .await
        .expect("the low queue is lazy");
    assert!(
        declare_with_mode(&raw.connection, &high, "lazy")
            .await
            .is_err(),
        "the high queue is not lazy"
    );
    assert!(
        declare_with_mode(&raw.connection, &low, "default")
            .await
            .is_err(),
        "the low queue is not in default mode"
    );

    let mut consumer = consume(&fx, &["img"]).await;
    for expected in [h.id, t.id] {
        let delivery = next_within(&mut *consumer, Duration::from_secs(10))
            .await
            .expect("img's task");
        assert_eq!(delivery.task().id, expected, "high first");
        assert_eq!(delivery.task().queue, "img");
        delivery.ack().await.expect("ack");
    }
    for queue in [&high, &low] {
        let _ = raw
            .channel
            .queue_delete(queue.as_str().into(), Default::default())
            .await;
    }
    raw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_on_a_named_queues_set_belongs_to_that_queue() {
    let fx = Fixture::start(config("named_owner")).await;
    // The consumer declares img's sets before subscribing.
    let mut consumer = consume(&fx, &["img"]).await;
    let mut t = task("named.owner", Priority::Low);
    t.queue = "elsewhere".into();
    let low = format!(
        "{}img.low_priority_queue_0",
        fx.broker.config().queue_prefix
    );
    let raw = Raw::open(URI).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while crate::common::passive(
        &raw.connection.create_channel().await.expect("channel"),
        &low,
    )
    .await
    .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "img's low queue was never declared"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    raw.publish(&low, wire::encode(&t), &t.payload).await;
    let delivery = next_within(&mut *consumer, Duration::from_secs(10))
        .await
        .expect("the message");
    assert_eq!(delivery.task().id, t.id);
    assert_eq!(
        delivery.task().queue,
        "img",
        "the queue it was taken from wins over its header"
    );
    delivery.ack().await.expect("ack");
    raw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delayed_task_reaches_only_its_named_queue_even_when_its_name_ends_like_default() {
    let cfg = config("named_delay");
    let first = Fixture::start(cfg.clone()).await;
    let prefix = cfg.queue_prefix.clone();
    // What earlier versions bound: `#.Q` on the delay exit for a default work queue.
    let raw = Raw::open(URI).await;
    let default_high = first.topology().queues(Priority::High)[0].to_string();
    raw.channel
        .queue_bind(
            default_high.as_str().into(),
            first.topology().delay_deliver_exchange().clone(),
            format!("#.{default_high}").as_str().into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .expect("the old binding");
    // A new process replaces it with the anchored one.
    let fx = Fixture::start(cfg).await;

    // Named queue N = the prefix without its dot: N's high queue `{p}N.high_priority_queue_0`
    // ends with `.{p}high_priority_queue_0`, which `#.{p}high_priority_queue_0` would match.
    let named = prefix.trim_end_matches('.').to_owned();
    let mut t = task("named.delay", Priority::High);
    t.queue = named.clone();
    t.run_at = Some(Utc::now() + chrono::Duration::seconds(1));
    fx.broker.publish(&t).await.expect("publish delayed");

    let mut on_named = consume(&fx, &[named.as_str()]).await;
    let delivery = next_within(&mut *on_named, Duration::from_secs(10))
        .await
        .expect("the delayed task on its named queue");
    assert_eq!(delivery.task().id, t.id);
    assert_eq!(delivery.task().queue, named);
    assert!(Some(Utc::now()) >= t.run_at, "not before its run time");
    delivery.ack().await.expect("ack");

    let mut on_default = fx.consumer().await;
    expect_no_delivery(&mut *on_default, Duration::from_millis(1500))
        .await
        .unwrap_or_else(|e| panic!("a copy reached the default queue: {e}"));
    for kind in ["high", "low"] {
        let _ = raw
            .channel
            .queue_delete(
                format!("{prefix}{named}.{kind}_priority_queue_0")
                    .as_str()
                    .into(),
                Default::default(),
            )
            .await;
    }
    raw.close().await;
    drop(first);
}
