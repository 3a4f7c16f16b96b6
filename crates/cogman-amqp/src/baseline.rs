//! The raw RabbitMQ baseline benchmarks compare cogman against: plain lapin on a fresh,
//! uniquely named durable queue, with no cogman logic. Phase 1 publishes `n` persistent
//! messages with publisher confirms, keeping up to [`PUBLISH_WINDOW`] unconfirmed; phase 2
//! consumes them with manual acks under `basic_qos(prefetch)`. The queue is deleted after.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{FieldTable, ShortString};
use lapin::{BasicProperties, Confirmation, Connection, ConnectionProperties, PublisherConfirm};

use cogman_core::BrokerError;

use crate::{channel, error};

/// Unconfirmed publishes kept in flight.
pub const PUBLISH_WINDOW: usize = 1000;
/// Body size of each message, in bytes.
pub const PAYLOAD_BYTES: usize = 256;

/// Timings of one baseline run.
#[derive(Debug, Clone, PartialEq)]
pub struct BaselineReport {
    /// Messages published and consumed.
    pub messages: usize,
    /// Prefetch used by the consumer.
    pub prefetch: u16,
    /// Time to publish every message and receive every confirm.
    pub publish_elapsed: Duration,
    /// Time to consume and ack every message.
    pub consume_elapsed: Duration,
}

impl BaselineReport {
    /// Confirmed publishes per second.
    pub fn publish_rate(&self) -> f64 {
        rate(self.messages, self.publish_elapsed)
    }

    /// Consumed and acked messages per second.
    pub fn consume_rate(&self) -> f64 {
        rate(self.messages, self.consume_elapsed)
    }

    /// Both phases together.
    pub fn total_elapsed(&self) -> Duration {
        self.publish_elapsed + self.consume_elapsed
    }

    /// Messages per second through publish, consume and ack.
    pub fn roundtrip_rate(&self) -> f64 {
        rate(self.messages, self.total_elapsed())
    }
}

fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64().max(f64::EPSILON)
}

/// Runs the baseline against `uri` with `n` messages.
///
/// # Errors
/// [`BrokerError::Unavailable`] when RabbitMQ cannot be reached or fails mid-run;
/// [`BrokerError::Refused`] when a publish is nacked or returned.
pub async fn raw_roundtrip(
    uri: &str,
    n: usize,
    prefetch: u16,
) -> Result<BaselineReport, BrokerError> {
    let publishing = connect(uri, "cogman-baseline/publish").await?;
    let consuming = connect(uri, "cogman-baseline/consume").await?;
    let queue = ShortString::from(format!("cogman_baseline_{}", uuid::Uuid::now_v7()));
    let channel = channel::open(&publishing).await?;
    channel
        .queue_declare(
            queue.clone(),
            QueueDeclareOptions::durable(),
            FieldTable::default(),
        )
        .await
        .map_err(error::unavailable)?;
    let run = async {
        let publish_elapsed = publish(&publishing, &queue, n).await?;
        let consume_elapsed = consume(&consuming, &queue, n, prefetch).await?;
        Ok(BaselineReport {
            messages: n,
            prefetch,
            publish_elapsed,
            consume_elapsed,
        })
    }
    .await;
    let _ = channel
        .queue_delete(queue, QueueDeleteOptions::default())
        .await;
    let _ = publishing.close(200, "baseline done".into()).await;
    let _ = consuming.close(200, "baseline done".into()).await;
    run
}

async fn connect(uri: &str, name: &str) -> Result<Connection, BrokerError> {
    Connection::connect(
        uri,
        ConnectionProperties::default().with_connection_name(name.into()),
    )
    .await
    .map_err(error::connect)
}

async fn publish(
    connection: &Connection,
    queue: &ShortString,
    n: usize,
) -> Result<Duration, BrokerError> {
    let channel = channel::open_confirming(connection).await?;
    let body = vec![b'x'; PAYLOAD_BYTES];
    let properties = BasicProperties::default().with_delivery_mode(2);
    let options = BasicPublishOptions {
        mandatory: true,
        immediate: false,
    };
    let started = Instant::now();
    let mut pending: VecDeque<PublisherConfirm> = VecDeque::with_capacity(PUBLISH_WINDOW);
    for _ in 0..n {
        if pending.len() >= PUBLISH_WINDOW
            && let Some(oldest) = pending.pop_front()
        {
            confirmed(oldest).await?;
        }
        let confirm = channel
            .basic_publish("".into(), queue.clone(), options, &body, properties.clone())
            .await
            .map_err(error::unavailable)?;
        pending.push_back(confirm);
    }
    for confirm in pending {
        confirmed(confirm).await?;
    }
    Ok(started.elapsed())
}

async fn confirmed(confirm: PublisherConfirm) -> Result<(), BrokerError> {
    match confirm.await.map_err(error::unavailable)? {
        Confirmation::Ack(None) => Ok(()),
        other => Err(BrokerError::Refused(format!(
            "publish not acked: {other:?}"
        ))),
    }
}

async fn consume(
    connection: &Connection,
    queue: &ShortString,
    n: usize,
    prefetch: u16,
) -> Result<Duration, BrokerError> {
    let channel = channel::open(connection).await?;
    channel
        .basic_qos(prefetch, BasicQosOptions::default())
        .await
        .map_err(error::unavailable)?;
    let started = Instant::now();
    let mut consumer = channel
        .basic_consume(
            queue.clone(),
            "cogman-baseline".into(),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await
        .map_err(error::unavailable)?;
    for _ in 0..n {
        let delivery = consumer
            .next()
            .await
            .ok_or_else(|| error::unavailable_msg("baseline consumer cancelled"))?
            .map_err(error::unavailable)?;
        if !delivery
            .ack(BasicAckOptions::default())
            .await
            .map_err(error::unavailable)?
        {
            return Err(error::unavailable_msg("baseline channel closed"));
        }
    }
    Ok(started.elapsed())
}
