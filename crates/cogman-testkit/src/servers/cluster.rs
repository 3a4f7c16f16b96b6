//! [`RabbitCluster`]: three [`PrivateRabbit`] nodes (own names, ports and data directories,
//! the one Erlang cookie of the `rabbitmq` user) joined into one RabbitMQ cluster, for tests
//! of quorum queues and fail-over. No Docker: the second and third nodes run
//! `stop_app`, `join_cluster <first>`, `start_app`. Dropping the cluster (also when a test
//! panics) stops every node and removes its directory. The shared broker is never involved.

use super::{PrivateRabbit, ServerError};

/// Three private RabbitMQ nodes joined into one cluster; torn down when dropped.
#[derive(Debug)]
pub struct RabbitCluster {
    nodes: Vec<PrivateRabbit>,
}

impl RabbitCluster {
    /// Boots three nodes and joins the second and third to the first.
    ///
    /// # Errors
    /// The [`ServerError`] of a node that does not boot or join (the nodes booted so far are
    /// stopped and removed).
    pub async fn start() -> Result<RabbitCluster, ServerError> {
        let (a, b, c) = tokio::join!(
            PrivateRabbit::start(),
            PrivateRabbit::start(),
            PrivateRabbit::start()
        );
        let cluster = RabbitCluster {
            nodes: vec![a?, b?, c?],
        };
        let first = cluster.nodes[0].name().to_owned();
        for node in &cluster.nodes[1..] {
            node.stop_app().await?;
            node.ctl(&["join_cluster", &first]).await?;
            node.start_app().await?;
        }
        cluster.nodes[0]
            .ctl(&["await_online_nodes", "3", "--timeout", "60000"])
            .await?;
        Ok(cluster)
    }

    /// The nodes, in the order they joined (the first is the one the others joined).
    pub fn nodes(&self) -> &[PrivateRabbit] {
        &self.nodes
    }

    /// Every node's URI starting with node `first`, separated by commas: the `amqp.uri` of a
    /// client that prefers that node and fails over to the others in turn.
    pub fn uris_from(&self, first: usize) -> String {
        let n = self.nodes.len();
        (0..n)
            .map(|i| self.nodes[(first + i) % n].uri())
            .collect::<Vec<_>>()
            .join(",")
    }
}
