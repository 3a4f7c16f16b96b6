//! Fail-over on a local 3-node RabbitMQ cluster (testkit's `RabbitCluster`, private nodes):
//! a broker with quorum queues and the URIs of nodes A, B and C, connected to A, keeps
//! publishing and consuming through B or C once A's app is stopped, and every confirmed task
//! is consumed.

use std::sync::Arc;
use std::time::Duration;

use cogman_amqp::{AmqpBroker, QueueType};
use cogman_core::Broker as _;
use cogman_testkit::servers::RabbitCluster;

use crate::common::config_on;
use crate::common::traffic::Traffic;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_failover_loses_no_confirmed_task_when_a_node_stops() {
    let cluster = RabbitCluster::start().await.expect("a 3-node cluster");
    let a = &cluster.nodes()[0];
    let mut cfg = config_on(&cluster.uris_from(0), "cluster_failover");
    cfg.queue_type = QueueType::Quorum;
    cfg.connection_timeout = Duration::from_secs(60);
    let broker = Arc::new(AmqpBroker::connect(cfg).await.expect("connect to node A"));
    let traffic = Traffic::start(Arc::clone(&broker));
    traffic.progress(100, "publishing through node A").await;
    a.stop_app().await.expect("stop node A's app");
    traffic
        .progress(100, "publishing through node B or C after A stopped")
        .await;
    traffic.finish().await;
    broker.close().await.expect("close");
}
