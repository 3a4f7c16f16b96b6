//! The feed task of one consumer: on every session of the consuming link it opens one channel
//! per priority (channel-wide prefetch), re-declares that priority's work queues of every named
//! queue served (with their delay-exit bindings), subscribes to each of them and forwards deliveries to the consumer's buffers. When a subscription ends,
//! errors, or its channel or connection stops being usable, it subscribes again from scratch
//! (on the same connection if it is still up, else on the next one) — consumers never stay
//! silently detached (lapin#389).

use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, BoxStream, SelectAll};
use futures::{StreamExt as _, future};
use lapin::Channel;
use lapin::options::{BasicConsumeOptions, BasicQosOptions};
use lapin::types::{FieldTable, ShortString};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use cogman_core::{ConsumeOptions, Priority};

use crate::config::QueueType;
use crate::link::{Link, Session};
use crate::received::Received;
use crate::topology::{QueueSet, Topology, short};

/// First and largest pause before subscribing again; the pause doubles while subscriptions
/// keep failing and resets once they held for [`STABLE_AFTER`].
const RESUBSCRIBE_PAUSE: Duration = Duration::from_millis(100);
const RESUBSCRIBE_PAUSE_MAX: Duration = Duration::from_secs(10);
const STABLE_AFTER: Duration = Duration::from_secs(10);
/// How often channel and connection state are checked.
const HEALTH_POLL: Duration = Duration::from_millis(250);

/// One item of the merged subscriptions: the priority, work queue and named queue it came
/// from, and a delivery, an error, or `None` when that subscription ended.
type Item = (
    Priority,
    ShortString,
    Arc<str>,
    Option<lapin::Result<lapin::message::Delivery>>,
);

pub(super) struct Feed {
    pub(super) link: Link,
    pub(super) topology: Arc<Topology>,
    /// The sets of the named queues served.
    pub(super) sets: Vec<Arc<QueueSet>>,
    pub(super) options: ConsumeOptions,
    pub(super) high: mpsc::UnboundedSender<Received>,
    pub(super) low: mpsc::UnboundedSender<Received>,
    pub(super) cancel: CancellationToken,
}

/// The merged subscriptions of one priority set.
type Items = SelectAll<BoxStream<'static, Item>>;

/// The subscriptions of one session.
struct Subscribed {
    high: Channel,
    low: Channel,
    high_items: Items,
    low_items: Items,
}

impl Feed {
    pub(super) async fn run(self) {
        let mut pause = RESUBSCRIBE_PAUSE;
        loop {
            let session = tokio::select! {
                biased;
                () = self.cancel.cancelled() => return,
                session = self.link.session(None) => match session {
                    Ok(session) => session,
                    Err(_) => return,
                },
            };
            let reason = match self.subscribe(&session).await {
                Ok(subscribed) => {
                    let started = tokio::time::Instant::now();
                    let Some(reason) = self.forward(&session, subscribed).await else {
                        return;
                    };
                    if started.elapsed() >= STABLE_AFTER {
                        pause = RESUBSCRIBE_PAUSE;
                    }
                    format!("subscriptions lost: {reason}")
                }
                Err(e) => format!("subscribe failed: {e}"),
            };
            tracing::warn!(%reason, generation = session.generation, retry_in = ?pause, "RabbitMQ consumer resubscribing");
            tokio::select! {
                () = self.cancel.cancelled() => return,
                () = tokio::time::sleep(pause) => {}
            }
            pause = (pause * 2).min(RESUBSCRIBE_PAUSE_MAX);
        }
    }

    async fn subscribe(&self, session: &Session) -> lapin::Result<Subscribed> {
        let mut high_items = SelectAll::new();
        let mut low_items = SelectAll::new();
        // High first, so its subscriptions start filling before the low ones.
        let high = self
            .subscribe_set(session, Priority::High, &mut high_items)
            .await?;
        let low = self
            .subscribe_set(session, Priority::Low, &mut low_items)
            .await?;
        Ok(Subscribed {
            high,
            low,
            high_items,
            low_items,
        })
    }

    async fn subscribe_set(
        &self,
        session: &Session,
        priority: Priority,
        items: &mut Items,
    ) -> lapin::Result<Channel> {
        let channel = session.connection.create_channel().await?;
        channel
            .basic_qos(
                self.options.prefetch.max(1),
                BasicQosOptions {
                    global: self.topology.queue_type() == QueueType::Classic,
                },
            )
            .await?;
        for set in &self.sets {
            self.topology
                .declare_set_priority(&channel, set, priority)
                .await?;
            let named: Arc<str> = Arc::from(set.name());
            for queue in set.queues(priority) {
                let tag = short(&format!("{}.{queue}", truncate(&self.options.consumer_tag)));
                let consumer = channel
                    .basic_consume(
                        queue.clone(),
                        tag,
                        BasicConsumeOptions::default(),
                        FieldTable::default(),
                    )
                    .await?;
                let (queue, end_queue) = (queue.clone(), queue.clone());
                let (named, end_named) = (Arc::clone(&named), Arc::clone(&named));
                let stream = consumer
                    .map(move |d| (priority, queue.clone(), Arc::clone(&named), Some(d)))
                    .chain(stream::once(future::ready((
                        priority, end_queue, end_named, None,
                    ))));
                items.push(stream.boxed());
            }
        }
        Ok(channel)
    }

    /// Forwards deliveries until something breaks (returns why) or the feed is cancelled
    /// (returns `None`).
    async fn forward(&self, session: &Session, mut subscribed: Subscribed) -> Option<String> {
        let mut poll = tokio::time::interval(HEALTH_POLL);
        loop {
            // Biased: when both sets have deliveries waiting, high ones are forwarded first.
            let item = tokio::select! {
                biased;
                () = self.cancel.cancelled() => return None,
                item = subscribed.high_items.next() => item,
                item = subscribed.low_items.next() => item,
                _ = poll.tick() => {
                    if !session.is_connected() {
                        return Some("connection lost".into());
                    }
                    if !subscribed.high.status().connected() || !subscribed.low.status().connected() {
                        return Some("a consuming channel was closed".into());
                    }
                    continue;
                }
            };
            let Some((priority, queue, named, delivery)) = item else {
                return Some("every subscription ended".into());
            };
            let delivery = match delivery {
                Some(Ok(delivery)) => delivery,
                Some(Err(e)) => return Some(format!("subscription to {queue} failed: {e}")),
                None => return Some(format!("subscription to {queue} was cancelled")),
            };
            let (channel, buffer) = match priority {
                Priority::High => (&subscribed.high, &self.high),
                Priority::Low => (&subscribed.low, &self.low),
            };
            let message = Received {
                acker: delivery.acker,
                _channel: channel.clone(),
                queue,
                named,
                redelivered: delivery.redelivered,
                properties: delivery.properties,
                body: delivery.data,
            };
            if buffer.send(message).is_err() {
                // The consumer is gone.
                return None;
            }
        }
    }
}

/// Consumer tags are short strings; keep the caller's part well under the limit.
fn truncate(tag: &str) -> &str {
    let mut end = tag.len().min(64);
    while !tag.is_char_boundary(end) {
        end -= 1;
    }
    &tag[..end]
}
