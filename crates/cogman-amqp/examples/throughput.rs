//! Quick local throughput check: the raw lapin baseline ([`cogman_amqp::raw_roundtrip`]) next
//! to cogman's own broker doing the same work (publish `n` 256-byte tasks with confirms, up to
//! 1000 in flight, then consume and ack them with the given prefetch).
//!
//! ```text
//! cargo run --release -p cogman-amqp --example throughput -- [uri] [n] [prefetch]
//! ```

use std::time::Instant;

use cogman_amqp::{AmqpBroker, AmqpConfig, raw_roundtrip};
use cogman_core::{Broker, ConsumeOptions, Priority, Task, TaskSpec};
use futures::{StreamExt as _, TryStreamExt as _};
use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};

const IN_FLIGHT: usize = 1000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let uri = args
        .next()
        .unwrap_or_else(|| "amqp://guest:guest@127.0.0.1:5672/%2f".into());
    let n: usize = args.next().map_or(Ok(20_000), |s| s.parse())?;
    let prefetch: u16 = args.next().map_or(Ok(100), |s| s.parse())?;

    let raw = raw_roundtrip(&uri, n, prefetch).await?;
    println!(
        "raw lapin : publish {:>8.0}/s  consume+ack {:>8.0}/s  round trip {:>8.0}/s",
        raw.publish_rate(),
        raw.consume_rate(),
        raw.roundtrip_rate()
    );

    let mut config = AmqpConfig::new(&uri);
    config.queue_prefix = format!("bench.{}.", uuid::Uuid::now_v7().simple());
    config.connection_name = "cogman-throughput".into();
    let broker = AmqpBroker::connect(config).await?;
    let now = chrono::Utc::now();
    let tasks: Vec<Task> = (0..n)
        .map(|_| {
            Task::from_spec(
                TaskSpec::new("bench.noop", vec![b'x'; 256]).priority(Priority::Low),
                now,
            )
        })
        .collect();

    let started = Instant::now();
    futures::stream::iter(tasks.iter().map(|t| broker.publish(t)))
        .buffer_unordered(IN_FLIGHT)
        .try_collect::<()>()
        .await?;
    let publish = started.elapsed();

    let mut consumer = broker
        .consume(ConsumeOptions {
            prefetch,
            ..ConsumeOptions::default()
        })
        .await?;
    let started = Instant::now();
    for _ in 0..n {
        consumer.next().await?.ack().await?;
    }
    let consume = started.elapsed();
    let rate = |d: std::time::Duration| n as f64 / d.as_secs_f64();
    println!(
        "cogman    : publish {:>8.0}/s  consume+ack {:>8.0}/s  round trip {:>8.0}/s",
        rate(publish),
        rate(consume),
        rate(publish + consume)
    );
    drop(consumer);
    broker.close().await?;
    delete_topology(&uri, &broker).await?;
    Ok(())
}

async fn delete_topology(uri: &str, broker: &AmqpBroker) -> Result<(), lapin::Error> {
    let connection = Connection::connect(uri, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    let topology = broker.topology();
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
    connection.close(200, "done".into()).await
}
