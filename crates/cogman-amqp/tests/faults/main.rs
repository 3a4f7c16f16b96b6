//! Broker faults on a private RabbitMQ node (never the shared one): `stop_app`/`start_app` and
//! `kill -9` plus restart while tasks are being published and consumed — publishing waits for
//! the node and carries on, consumers resume by themselves, and no confirmed task is lost —
//! and a memory alarm, under which publishes fail with a transient confirm timeout; and a
//! broker started while its node is down, which connects once the node is back.
//! These tests are slow (node boots): they run one at a time in the `rabbitmq-node` test group
//! (`.config/nextest.toml`).

mod cluster;
#[path = "../common/mod.rs"]
mod common;
mod quorum;

use std::sync::Arc;
use std::time::Duration;

use cogman_core::{Broker, BrokerError, ConsumeOptions, Priority};
use cogman_testkit::next_within;
use cogman_testkit::servers::PrivateRabbit;
use tokio::time::Instant;

use common::traffic::Traffic;
use common::{Fixture, config_on, task};

async fn broker_on(node: &PrivateRabbit, label: &str) -> Fixture {
    let mut cfg = config_on(&node.uri(), label);
    cfg.connection_timeout = Duration::from_secs(60);
    Fixture::start(cfg).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_task_is_lost_across_stop_app_and_start_app() {
    let node = PrivateRabbit::start().await.expect("a private node boots");
    let fx = broker_on(&node, "fault_stop_app").await;
    let traffic = Traffic::start(Arc::clone(&fx.broker));
    traffic.progress(100, "publishing before stop_app").await;
    node.stop_app().await.expect("stop_app");
    node.start_app().await.expect("start_app");
    traffic.progress(100, "publishing after start_app").await;
    traffic.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_task_is_lost_when_the_node_is_killed_and_restarted() {
    let node = PrivateRabbit::start().await.expect("a private node boots");
    let fx = broker_on(&node, "fault_kill").await;
    let traffic = Traffic::start(Arc::clone(&fx.broker));
    traffic.progress(100, "publishing before the kill").await;
    node.kill().await.expect("kill");
    node.boot().await.expect("boot");
    traffic.progress(100, "publishing after the restart").await;
    traffic.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_broker_gives_confirm_timeouts_then_recovers() {
    let node = PrivateRabbit::start().await.expect("a private node boots");
    let mut cfg = config_on(&node.uri(), "fault_alarm");
    cfg.confirm_timeout = Duration::from_secs(1);
    let fx = Fixture::start(cfg).await;
    let mut accepted = vec![task("fault.alarm", Priority::Low)];
    fx.broker
        .publish(&accepted[0])
        .await
        .expect("publish before the alarm");

    node.ctl(&["set_vm_memory_high_watermark", "0.0000001"])
        .await
        .expect("set a memory alarm");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let t = task("fault.alarm", Priority::Low);
        match fx.broker.publish(&t).await {
            Ok(()) => accepted.push(t),
            Err(BrokerError::ConfirmTimeout(timeout)) => {
                assert_eq!(timeout, Duration::from_secs(1));
                break;
            }
            Err(e) => panic!("only confirm timeouts while blocked, got {e:?}"),
        }
        assert!(Instant::now() < deadline, "publishes were never blocked");
    }
    assert!(BrokerError::ConfirmTimeout(Duration::from_secs(1)).is_transient());

    node.ctl(&["set_vm_memory_high_watermark", "0.4"])
        .await
        .expect("clear the memory alarm");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let t = task("fault.alarm", Priority::Low);
        match fx.broker.publish(&t).await {
            Ok(()) => {
                accepted.push(t);
                break;
            }
            Err(BrokerError::ConfirmTimeout(_)) if Instant::now() < deadline => {}
            Err(e) => panic!("publishing resumes after the alarm: {e:?}"),
        }
    }

    let mut consumer = fx
        .broker
        .consume(ConsumeOptions::default())
        .await
        .expect("consume");
    let mut seen = std::collections::HashSet::new();
    let wanted: std::collections::HashSet<_> = accepted.iter().map(|t| t.id).collect();
    while !seen.is_superset(&wanted) {
        let delivery = next_within(&mut *consumer, Duration::from_secs(10))
            .await
            .expect("every accepted task is delivered");
        seen.insert(delivery.task().id);
        delivery.ack().await.expect("ack");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_started_while_the_node_is_down_connects_when_it_returns() {
    let node = PrivateRabbit::start().await.expect("a private node boots");
    node.stop_app().await.expect("stop_app");
    let fx = broker_on(&node, "fault_late_start").await;
    let t = task("fault.late_start", Priority::High);
    let publishing = {
        let broker = Arc::clone(&fx.broker);
        let t = t.clone();
        tokio::spawn(async move { broker.publish(&t).await })
    };
    let mut consumer = fx
        .broker
        .consume(ConsumeOptions::default())
        .await
        .expect("a consumer starts while the node is down");
    node.start_app().await.expect("start_app");
    publishing
        .await
        .expect("publish task")
        .expect("the publish is confirmed once the node is back");
    let delivery = next_within(&mut *consumer, Duration::from_secs(30))
        .await
        .expect("the task is consumed");
    assert_eq!(delivery.task().id, t.id);
    delivery.ack().await.expect("ack");
}
