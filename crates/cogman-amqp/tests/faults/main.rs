//! Broker faults on a private RabbitMQ node (never the shared one): `stop_app`/`start_app` and
//! `kill -9` plus restart while tasks are being published and consumed. Publishing waits for
//! the node and carries on, consumers resume by themselves, and no confirmed task is lost.
//! These tests are slow (node boots): they run one at a time in the `rabbitmq-node` test group
//! (`.config/nextest.toml`).

#[path = "../common/mod.rs"]
mod common;
mod node;

use std::sync::Arc;
use std::time::Duration;

use common::traffic::Traffic;
use common::{Fixture, config_on};
use node::PrivateNode;

async fn broker_on(node: &PrivateNode, label: &str) -> Fixture {
    let mut cfg = config_on(&node.uri(), label);
    cfg.connection_timeout = Duration::from_secs(60);
    Fixture::start(cfg).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_task_is_lost_across_stop_app_and_start_app() {
    let node = PrivateNode::start("cogmanamqpfault1", 5691).await;
    let fx = broker_on(&node, "fault_stop_app").await;
    let traffic = Traffic::start(Arc::clone(&fx.broker));
    traffic.progress(100, "publishing before stop_app").await;
    node.stop_app().await;
    node.start_app().await;
    traffic.progress(100, "publishing after start_app").await;
    traffic.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_task_is_lost_when_the_node_is_killed_and_restarted() {
    let node = PrivateNode::start("cogmanamqpfault2", 5692).await;
    let fx = broker_on(&node, "fault_kill").await;
    let traffic = Traffic::start(Arc::clone(&fx.broker));
    traffic.progress(100, "publishing before the kill").await;
    node.kill().await;
    node.boot().await;
    traffic.progress(100, "publishing after the restart").await;
    traffic.finish().await;
}
