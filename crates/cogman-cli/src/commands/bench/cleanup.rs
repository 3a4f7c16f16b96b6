//! Removes what the bench's cogman run declared on RabbitMQ (its work queues, dead letters and
//! delay ladder, all under the bench's own prefix), so runs leave nothing on a shared broker.

use anyhow::Result;
use cogman::Config;
use cogman_amqp::Topology;
use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};

/// Deletes the queues and exchanges of `config`'s prefix on its RabbitMQ, if it has one.
pub(super) async fn delete_amqp_topology(config: &Config) -> Result<()> {
    let Some(uri) = &config.amqp.uri else {
        return Ok(());
    };
    let mut amqp = cogman_amqp::AmqpConfig::new(uri.clone());
    amqp.queue_prefix.clone_from(&config.amqp.queue_prefix);
    amqp.high_queue_count = config.amqp.high_priority_queue_count;
    amqp.low_queue_count = config.amqp.low_priority_queue_count;
    let topology = Topology::new(&amqp)?;
    let connection = Connection::connect(
        uri,
        ConnectionProperties::default().with_connection_name("cogman-bench/cleanup".into()),
    )
    .await?;
    let channel = connection.create_channel().await?;
    for queue in topology.all_queues() {
        channel
            .queue_delete(queue.clone(), QueueDeleteOptions::default())
            .await?;
    }
    for exchange in topology.exchanges() {
        channel
            .exchange_delete(exchange.clone(), ExchangeDeleteOptions::default())
            .await?;
    }
    connection.close(200, "bench done".into()).await?;
    Ok(())
}
