//! Publish and consume basics: round trip, limits, a second broker on the same queues, queue
//! statistics, close, redacted `Debug` and refused configurations.

use std::time::Duration;

use cogman_amqp::AmqpBroker;
use cogman_core::{Broker, BrokerError, ConsumeOptions, Priority, TaskState};
use cogman_testkit::{expect_no_delivery, next_within, sample};
use lapin::options::QueueDeclareOptions;
use lapin::types::FieldTable;

use crate::common::{Fixture, Raw, URI, config, task};

const DEADLINE: Duration = Duration::from_secs(10);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_round_trips_with_every_field_and_ack_removes_it() {
    let fx = Fixture::start(config("roundtrip")).await;
    let mut task = sample::rich_task("basics.round_trip");
    task.status = TaskState::Queued;
    task.run_at = None;
    fx.broker.publish(&task).await.expect("publish");

    // The sample task is on a named queue: consume that one.
    let mut consumer = fx
        .broker
        .consume(cogman_core::ConsumeOptions {
            queues: vec![task.queue.clone()],
            ..cogman_core::ConsumeOptions::default()
        })
        .await
        .expect("consume");
    let delivery = next_within(&mut *consumer, DEADLINE)
        .await
        .expect("delivery");
    assert_eq!(delivery.task(), &task);
    assert_eq!(delivery.delivery_count(), 1);
    delivery.ack().await.expect("ack");
    expect_no_delivery(&mut *consumer, Duration::from_millis(500))
        .await
        .expect("nothing else");

    let raw = Raw::open(URI).await;
    let set = fx.topology().set(&task.queue).expect("a valid queue");
    let queue = set.queues(Priority::High)[0].to_string();
    assert_eq!(raw.ready(&queue).await, 0, "acked task left the queue");
    raw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_payloads_and_bad_names_are_refused_before_publishing() {
    let mut cfg = config("limits");
    cfg.max_payload_bytes = 64;
    let fx = Fixture::start(cfg).await;
    let mut big = task("basics.big", Priority::Low);
    big.payload = vec![7; 65];
    let err = fx.broker.publish(&big).await.expect_err("too big");
    assert!(matches!(err, BrokerError::Malformed(_)), "{err:?}");
    assert!(!err.is_transient());

    let mut unnamed = task("", Priority::Low);
    unnamed.payload = vec![1];
    let err = fx.broker.publish(&unnamed).await.expect_err("no name");
    assert!(matches!(err, BrokerError::Malformed(_)), "{err:?}");

    let raw = Raw::open(URI).await;
    let queue = fx.topology().queues(Priority::Low)[0].to_string();
    assert_eq!(raw.ready(&queue).await, 0, "nothing was published");
    raw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_broker_with_the_same_config_shares_the_queues() {
    let mut cfg = config("shared");
    cfg.high_queue_count = 2;
    cfg.low_queue_count = 3;
    let fx = Fixture::start(cfg.clone()).await;
    let second = AmqpBroker::connect(cfg)
        .await
        .expect("second broker declares the same topology");

    let tasks: Vec<_> = (0_u32..12)
        .map(|i| {
            task(
                "basics.shared",
                if i.is_multiple_of(2) {
                    Priority::High
                } else {
                    Priority::Low
                },
            )
        })
        .collect();
    for t in &tasks {
        fx.broker.publish(t).await.expect("publish");
    }
    let raw = Raw::open(URI).await;
    for (priority, queue) in fx.topology().work_queues() {
        let expected = if priority == Priority::High { 3 } else { 2 };
        assert_eq!(
            raw.ready(queue.as_str()).await,
            expected,
            "round robin over {queue}"
        );
    }
    raw.close().await;

    let mut consumer = second
        .consume(ConsumeOptions::default())
        .await
        .expect("consume");
    let mut seen = Vec::new();
    for _ in 0..tasks.len() {
        let delivery = next_within(&mut *consumer, DEADLINE)
            .await
            .expect("delivery");
        seen.push(delivery.task().id);
        delivery.ack().await.expect("ack");
    }
    seen.sort();
    let mut expected: Vec<_> = tasks.iter().map(|t| t.id).collect();
    expected.sort();
    assert_eq!(seen, expected);
    second.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_stats_count_ready_and_scheduled_tasks() {
    let fx = Fixture::start(config("stats")).await;
    for _ in 0..3 {
        fx.broker
            .publish(&task("basics.stats", Priority::Low))
            .await
            .expect("publish");
    }
    let mut later = task("basics.stats", Priority::High);
    later.run_at = Some(chrono::Utc::now() + chrono::Duration::hours(1));
    fx.broker.publish(&later).await.expect("publish delayed");

    let source = fx.broker.queue_stats_source().expect("stats ability");
    let stats = source.queue_stats().await.expect("stats");
    let find = |name: String| {
        stats
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} in {stats:?}"))
    };
    let prefix = &fx.broker.config().queue_prefix;
    let low = find(format!("{prefix}low_priority_queue_0"));
    assert_eq!((low.ready, low.priority), (3, Some(Priority::Low)));
    let high = find(format!("{prefix}high_priority_queue_0"));
    assert_eq!(high.ready, 0);
    assert_eq!(find(format!("{prefix}cogman_delay")).scheduled, 1);
    assert_eq!(find(format!("{prefix}cogman_dead_letter")).ready, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_ends_consumers_and_refuses_publishes() {
    let fx = Fixture::start(config("close")).await;
    let mut consumer = fx.consumer().await;
    let shown = format!("{:?}", fx.broker);
    assert!(
        !shown.contains("guest:guest@"),
        "password redacted: {shown}"
    );
    fx.broker.close().await.expect("close");
    assert!(matches!(consumer.next().await, Err(BrokerError::Closed)));
    let err = fx
        .broker
        .publish(&task("basics.closed", Priority::Low))
        .await
        .expect_err("closed");
    assert!(matches!(err, BrokerError::Closed), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_configs_and_conflicting_queues_are_clear_errors() {
    let mut cfg = config("badcfg");
    cfg.queue_prefix = "a#".into();
    let err = AmqpBroker::connect(cfg).await.expect_err("wildcard prefix");
    assert!(matches!(err, BrokerError::Other(_)), "{err:?}");

    let err = AmqpBroker::connect(cogman_amqp::AmqpConfig::new("http://nope"))
        .await
        .expect_err("not an AMQP URI");
    assert!(matches!(err, BrokerError::Other(_)), "{err:?}");

    // A queue that already exists with other arguments: PRECONDITION_FAILED, not a retry loop.
    let cfg = config("conflict");
    let raw = Raw::open(URI).await;
    let queue = format!("{}high_priority_queue_0", cfg.queue_prefix);
    raw.channel
        .queue_declare(
            queue.as_str().into(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await
        .expect("declare a conflicting queue");
    let err = AmqpBroker::connect(cfg)
        .await
        .expect_err("conflicting queue");
    assert!(matches!(err, BrokerError::Other(_)), "{err:?}");
    assert!(!err.is_transient());
    let cleanup = raw.connection.create_channel().await.expect("channel");
    cleanup
        .queue_delete(queue.as_str().into(), Default::default())
        .await
        .expect("delete the conflicting queue");
    raw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_deleted_while_running_is_declared_again() {
    let fx = Fixture::start(config("healing")).await;
    let mut consumer = fx.consumer().await;
    let raw = Raw::open(URI).await;
    let queue = fx.topology().queues(Priority::Low)[0].to_string();
    let deleter = raw.connection.create_channel().await.expect("channel");
    deleter
        .queue_delete(queue.as_str().into(), Default::default())
        .await
        .expect("an operator deletes the queue");

    // The publish comes back unroutable, the topology is declared again, the retry lands.
    let t = task("basics.healing", Priority::Low);
    fx.broker
        .publish(&t)
        .await
        .expect("publish heals the topology");
    // The consumer's subscription was cancelled with the queue; it subscribes again.
    let delivery = next_within(&mut *consumer, DEADLINE)
        .await
        .expect("the task is consumed");
    assert_eq!(delivery.task().id, t.id);
    delivery.ack().await.expect("ack");
    raw.close().await;
}
