//! The honest RabbitMQ baseline: plain lapin doing a cogman task's broker work as well as a
//! plain client can. The message is exactly cogman's (the same properties and `cogman-*`
//! headers, persistent, the same body); publishes go on one confirming channel and are handed
//! to lapin without awaiting each, with at most [`CONFIRM_WINDOW`] unconfirmed; one consumer
//! channel per cogman worker, each with the worker's prefetch, acking every message on its own
//! without waiting for the previous ack to be written. The queue is declared like cogman's
//! low-priority queue and deleted at the end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use cogman::{Task, TaskSpec};
use futures::stream::{self, FuturesUnordered};
use futures::{StreamExt as _, TryStreamExt as _};
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions,
    ConfirmSelectOptions, QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};
use tokio::sync::watch;

use super::baseline::RawQueue;

/// Unconfirmed publishes kept in flight.
pub(super) const CONFIRM_WINDOW: usize = 1000;

/// A plain lapin producer and consumers on a queue of their own.
pub(super) struct AmqpBaseline {
    publishing: Connection,
    consuming: Connection,
    publisher: Channel,
    queue: ShortString,
    consumers: usize,
    prefetch: u16,
    body: Vec<u8>,
    properties: BasicProperties,
}

impl AmqpBaseline {
    /// Connects to `uri` and declares the queue `{prefix}baseline`. `sample` is the message
    /// cogman would publish; `consumers` channels each hold `prefetch` unacked deliveries.
    pub(super) async fn open(
        uri: &str,
        prefix: &str,
        sample: &Task,
        consumers: usize,
        prefetch: u16,
    ) -> Result<AmqpBaseline> {
        let publishing = connect(uri, "cogman-bench-baseline/publish").await?;
        let consuming = connect(uri, "cogman-bench-baseline/consume").await?;
        let publisher = publishing.create_channel().await?;
        publisher
            .confirm_select(ConfirmSelectOptions::default())
            .await?;
        let queue = ShortString::from(format!("{prefix}baseline"));
        let mut arguments = FieldTable::default();
        arguments.insert("x-queue-mode".into(), AMQPValue::LongString("lazy".into()));
        publisher
            .queue_declare(queue.clone(), QueueDeclareOptions::durable(), arguments)
            .await
            .context("declaring the baseline queue")?;
        Ok(AmqpBaseline {
            publishing,
            consuming,
            publisher,
            queue,
            consumers: consumers.max(1),
            prefetch: prefetch.max(1),
            body: sample.payload.clone(),
            properties: cogman_amqp::wire::encode(sample),
        })
    }

    async fn publish(&self, n: usize) -> Result<()> {
        let options = BasicPublishOptions {
            mandatory: true,
            immediate: false,
        };
        stream::iter(0..n)
            .map(|_| async move {
                let confirm = self
                    .publisher
                    .basic_publish(
                        "".into(),
                        self.queue.clone(),
                        options,
                        &self.body,
                        self.properties.clone(),
                    )
                    .await?;
                match confirm.await? {
                    Confirmation::Ack(None) => Ok(()),
                    other => bail!("publish not acked: {other:?}"),
                }
            })
            .buffer_unordered(CONFIRM_WINDOW)
            .try_collect::<()>()
            .await
    }

    /// Consumes `n` messages over the consumer channels, acking each as it arrives; every
    /// channel stops once `n` have arrived in all.
    async fn consume(&self, n: usize) -> Result<()> {
        let received = AtomicUsize::new(0);
        let (all_in, _) = watch::channel(n == 0);
        let consumers =
            (0..self.consumers).map(|i| self.consume_on_one_channel(i, n, &received, &all_in));
        futures::future::try_join_all(consumers).await?;
        Ok(())
    }

    async fn consume_on_one_channel(
        &self,
        index: usize,
        n: usize,
        received: &AtomicUsize,
        all_in: &watch::Sender<bool>,
    ) -> Result<()> {
        let mut done = all_in.subscribe();
        let channel = self.consuming.create_channel().await?;
        channel
            .basic_qos(self.prefetch, BasicQosOptions { global: true })
            .await?;
        let tag = format!("cogman-bench-baseline-{index}");
        let mut deliveries = channel
            .basic_consume(
                self.queue.clone(),
                tag.as_str().into(),
                BasicConsumeOptions::default(),
                FieldTable::default(),
            )
            .await?;
        let mut acks = FuturesUnordered::new();
        while !*done.borrow() {
            tokio::select! {
                Some(written) = acks.next(), if !acks.is_empty() => {
                    let written: lapin::Result<bool> = written;
                    if !written? {
                        bail!("the baseline's channel closed");
                    }
                }
                delivery = deliveries.next() => {
                    let delivery = delivery.context("the baseline's consumer was cancelled")??;
                    let acker = delivery.acker;
                    acks.push(async move { acker.ack(BasicAckOptions::default()).await });
                    if received.fetch_add(1, Ordering::Relaxed) + 1 >= n {
                        all_in.send_replace(true);
                    }
                }
                _ = done.changed() => {}
            }
        }
        while let Some(written) = acks.next().await {
            written?;
        }
        channel
            .basic_cancel(tag.as_str().into(), Default::default())
            .await?;
        let _ = channel.close(200, "baseline done".into()).await;
        Ok(())
    }
}

impl RawQueue for AmqpBaseline {
    fn describe(&self) -> String {
        format!(
            "plain lapin on one durable lazy queue: cogman's own message (persistent, same \
             headers and body), publisher confirms with up to {CONFIRM_WINDOW} publishes in \
             flight (not awaited one by one), {} consumer channel(s) with prefetch {} acking \
             each message without waiting for the previous ack; end to end = publisher and \
             consumers at once",
            self.consumers, self.prefetch
        )
    }

    async fn fill(&mut self, n: usize) -> Result<Duration> {
        let started = Instant::now();
        self.publish(n).await?;
        Ok(started.elapsed())
    }

    async fn drain(&mut self, n: usize) -> Result<Duration> {
        let started = Instant::now();
        self.consume(n).await?;
        Ok(started.elapsed())
    }

    async fn end_to_end(&mut self, n: usize) -> Result<Duration> {
        let started = Instant::now();
        tokio::try_join!(self.publish(n), self.consume(n))?;
        Ok(started.elapsed())
    }

    async fn close(self) {
        let _ = self
            .publisher
            .queue_delete(self.queue.clone(), QueueDeleteOptions::default())
            .await;
        let _ = self.publishing.close(200, "baseline done".into()).await;
        let _ = self.consuming.close(200, "baseline done".into()).await;
    }
}

async fn connect(uri: &str, name: &str) -> Result<Connection> {
    Connection::connect(
        uri,
        ConnectionProperties::default().with_connection_name(name.into()),
    )
    .await
    .with_context(|| format!("connecting to RabbitMQ for the baseline ({name})"))
}

/// The message a bench task becomes: what the baseline publishes.
pub(super) fn sample_task(tag: &str) -> Task {
    Task::from_spec(
        TaskSpec::new("bench.noop", Vec::new()).primary_key(format!("{tag}-0")),
        chrono::Utc::now(),
    )
}
