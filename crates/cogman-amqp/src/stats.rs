//! Queue statistics for [`AmqpBroker`], read with passive `queue.declare` (the management
//! plugin is not assumed). RabbitMQ reports ready messages and consumers this way, not
//! unacknowledged ones, so `in_flight` is always 0 here. The delay ladder is reported as one
//! entry, `{prefix}cogman_delay`, whose `scheduled` sums all levels. Work queues are listed for
//! the `default` named queue and for each named queue this process has published to or
//! consumed (a process cannot list the others without the management plugin).

use async_trait::async_trait;
use lapin::Channel;
use lapin::options::QueueDeclareOptions;
use lapin::types::{FieldTable, ShortString};
use tokio::time::Instant;

use cogman_core::{BrokerError, Priority, QueueStats, QueueStatsSource};

use crate::broker::AmqpBroker;
use crate::error;

#[async_trait]
impl QueueStatsSource for AmqpBroker {
    async fn queue_stats(&self) -> Result<Vec<QueueStats>, BrokerError> {
        let deadline = Instant::now() + self.config().confirm_timeout;
        let channel = self.publisher().link().channel(Some(deadline)).await?;
        let stats = read(self, &channel).await;
        let _ = channel.close(200, "stats read".into()).await;
        stats.map_err(error::unavailable)
    }
}

async fn read(broker: &AmqpBroker, channel: &Channel) -> lapin::Result<Vec<QueueStats>> {
    let topology = broker.topology();
    let mut stats = Vec::new();
    // The `default` named queue's sets, and those of every named queue this process has
    // published to or consumed.
    for set in broker.publisher().sets().all() {
        for (priority, queue) in set.work_queues() {
            let (ready, consumers) = peek(channel, queue).await?;
            stats.push(entry(
                queue.as_str(),
                Some(priority),
                ready,
                0,
                Some(consumers),
            ));
        }
    }
    let mut scheduled = 0;
    for level in topology.delay_levels() {
        scheduled += peek(channel, level).await?.0;
    }
    let prefix = &broker.config().queue_prefix;
    stats.push(entry(
        &format!("{prefix}cogman_delay"),
        None,
        0,
        scheduled,
        None,
    ));
    let dead_letter = topology.dead_letter_queue();
    let (ready, consumers) = peek(channel, dead_letter).await?;
    stats.push(entry(dead_letter.as_str(), None, ready, 0, Some(consumers)));
    Ok(stats)
}

/// Ready messages and consumers of `queue`.
async fn peek(channel: &Channel, queue: &ShortString) -> lapin::Result<(u64, u32)> {
    let declared = channel
        .queue_declare(
            queue.clone(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok((
        u64::from(declared.message_count()),
        declared.consumer_count(),
    ))
}

fn entry(
    name: &str,
    priority: Option<Priority>,
    ready: u64,
    scheduled: u64,
    consumers: Option<u32>,
) -> QueueStats {
    QueueStats {
        name: name.to_owned(),
        priority,
        ready,
        scheduled,
        in_flight: 0,
        consumers,
    }
}
