//! [`AmqpDeadLetterFeed`]: takes messages from `{p}cogman_dead_letter` so the worker or API
//! process can store them in the task log (the log is where dead letters are listed,
//! requeued and purged). A feed task keeps one channel subscribed to the queue (prefetch
//! [`PREFETCH`]; resubscribing after a lost connection or channel, as the work feed does);
//! `next()` turns each message into a [`NewDeadLetter`]: the reason, queue and time from
//! cogman's `x-cogman-dead-letter-*` headers or, for messages RabbitMQ dead-lettered itself,
//! from the newest `x-death` entry; the task when the message decodes; its id and name when
//! readable; headers as text and the body. The message is acked only after it was stored.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use lapin::options::{BasicConsumeOptions, BasicQosOptions};
use lapin::types::{AMQPValue, FieldTable};
use tokio::sync::mpsc;
use tokio_util::sync::{CancellationToken, DropGuard};

use cogman_core::{BrokerError, CollectedDeadLetter, DeadLetterFeed, NewDeadLetter, TaskId};

use super::delivery::AmqpDeliveryHandle;
use crate::context::ConsumeContext;
use crate::link::Link;
use crate::received::Received;
use crate::topology::{Topology, short};
use crate::wire::{self, headers};

/// Dead letters taken at once by one feed.
const PREFETCH: u16 = 16;
/// Pause before subscribing again after a failure (doubling up to the max).
const PAUSE: Duration = Duration::from_millis(200);
const PAUSE_MAX: Duration = Duration::from_secs(10);
/// How often channel and connection state are checked.
const HEALTH_POLL: Duration = Duration::from_millis(500);

/// The dead letters of one broker, one by one.
#[derive(Debug)]
pub(crate) struct AmqpDeadLetterFeed {
    messages: mpsc::UnboundedReceiver<Received>,
    context: Arc<ConsumeContext>,
    _stop: DropGuard,
}

impl AmqpDeadLetterFeed {
    pub(crate) fn start(
        link: Link,
        topology: Arc<Topology>,
        context: Arc<ConsumeContext>,
        cancel: &CancellationToken,
    ) -> Self {
        let (sender, messages) = mpsc::unbounded_channel();
        let stop = cancel.child_token();
        context
            .tracker
            .spawn(subscribe_forever(link, topology, sender, stop.clone()));
        AmqpDeadLetterFeed {
            messages,
            context,
            _stop: stop.drop_guard(),
        }
    }
}

#[async_trait]
impl DeadLetterFeed for AmqpDeadLetterFeed {
    async fn next(&mut self) -> Result<CollectedDeadLetter, BrokerError> {
        let message = self.messages.recv().await.ok_or(BrokerError::Closed)?;
        let entry = entry_of(&message, &self.context);
        let handle = AmqpDeliveryHandle::new(message, Arc::clone(&self.context));
        Ok(CollectedDeadLetter::new(entry, Box::new(handle)))
    }
}

async fn subscribe_forever(
    link: Link,
    topology: Arc<Topology>,
    sender: mpsc::UnboundedSender<Received>,
    cancel: CancellationToken,
) {
    let mut pause = PAUSE;
    loop {
        let session = tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            session = link.session(None) => match session {
                Ok(session) => session,
                Err(_) => return,
            },
        };
        let reason = match forward(&session, &topology, &sender, &cancel).await {
            Ok(None) => return,
            Ok(Some(reason)) => reason,
            Err(e) => format!("subscribe failed: {e}"),
        };
        tracing::debug!(%reason, retry_in = ?pause, "dead-letter collector resubscribing");
        tokio::select! {
            () = cancel.cancelled() => return,
            () = tokio::time::sleep(pause) => {}
        }
        pause = (pause * 2).min(PAUSE_MAX);
    }
}

/// Forwards messages until something breaks (`Ok(Some(why))`) or the feed stops (`Ok(None)`).
async fn forward(
    session: &crate::link::Session,
    topology: &Topology,
    sender: &mpsc::UnboundedSender<Received>,
    cancel: &CancellationToken,
) -> lapin::Result<Option<String>> {
    let channel = session.connection.create_channel().await?;
    channel
        .basic_qos(PREFETCH, BasicQosOptions::default())
        .await?;
    let queue = topology.dead_letter_queue().clone();
    let mut consumer = channel
        .basic_consume(
            queue.clone(),
            short("cogman.dead-letter-collector"),
            BasicConsumeOptions::default(),
            FieldTable::default(),
        )
        .await?;
    let mut poll = tokio::time::interval(HEALTH_POLL);
    loop {
        let delivery = tokio::select! {
            biased;
            () = cancel.cancelled() => return Ok(None),
            delivery = consumer.next() => delivery,
            _ = poll.tick() => {
                if !session.is_connected() || !channel.status().connected() {
                    return Ok(Some("connection or channel lost".into()));
                }
                continue;
            }
        };
        let delivery = match delivery {
            Some(Ok(delivery)) => delivery,
            Some(Err(e)) => return Ok(Some(format!("subscription failed: {e}"))),
            None => return Ok(Some("subscription cancelled".into())),
        };
        let message = Received {
            acker: delivery.acker,
            _channel: channel.clone(),
            queue: queue.clone(),
            // The dead-letter queue belongs to no named set: the task's queue is its header's.
            named: Arc::from(cogman_core::DEFAULT_QUEUE),
            redelivered: delivery.redelivered,
            properties: delivery.properties,
            body: delivery.data,
        };
        if sender.send(message).is_err() {
            return Ok(None);
        }
    }
}

/// The entry to store for a dead-lettered message.
fn entry_of(message: &Received, context: &ConsumeContext) -> NewDeadLetter {
    let now = Utc::now();
    let properties = &message.properties;
    let table = properties.headers().clone().unwrap_or_default();
    let fields = table.inner();
    let text_of = |name: &str| fields.get(name).map(as_text);
    let death = newest_death(fields.get("x-death"));
    let reason = text_of(headers::DEAD_LETTER_REASON).unwrap_or_else(|| match &death {
        Some(death) => format!(
            "dead-lettered by RabbitMQ: {}",
            death.reason.as_deref().unwrap_or("no reason given")
        ),
        None => "no reason given (not dead-lettered by cogman)".to_owned(),
    });
    let queue = text_of(headers::DEAD_LETTER_QUEUE)
        .or_else(|| death.as_ref().and_then(|d| d.queue.clone()));
    let stamped = text_of(headers::DEAD_LETTERED_AT);
    let dead_lettered_at = stamped
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|| death.as_ref().and_then(|d| d.time))
        .unwrap_or(now);
    let message_id = properties.message_id().as_ref().map(|id| id.to_string());
    let task = wire::decode(properties, &message.body, &context.limits, now)
        .ok()
        .map(|decoded| decoded.task);
    let key = message_id.as_ref().map(|id| {
        format!(
            "amqp:{id}:{}:{reason}",
            stamped
                .clone()
                .unwrap_or_else(|| dead_lettered_at.to_rfc3339())
        )
    });
    NewDeadLetter {
        key,
        task_id: task.as_ref().map(|t| t.id).or_else(|| {
            message_id
                .as_deref()
                .and_then(|id| id.parse::<TaskId>().ok())
        }),
        name: task
            .as_ref()
            .map(|t| t.name.clone())
            .or_else(|| text_of(headers::TASK_NAME)),
        task,
        queue,
        reason,
        dead_lettered_at,
        headers: fields
            .iter()
            .map(|(k, v)| (k.to_string(), as_text(v)))
            .collect::<BTreeMap<_, _>>(),
        body: message.body.clone(),
    }
    .bounded()
}

/// What the newest `x-death` entry says.
struct Death {
    reason: Option<String>,
    queue: Option<String>,
    time: Option<DateTime<Utc>>,
}

fn newest_death(value: Option<&AMQPValue>) -> Option<Death> {
    let Some(AMQPValue::FieldArray(deaths)) = value else {
        return None;
    };
    let Some(AMQPValue::FieldTable(first)) = deaths.as_slice().first() else {
        return None;
    };
    let fields = first.inner();
    let text = |k: &str| fields.get(k).map(as_text);
    Some(Death {
        reason: text("reason"),
        queue: text("queue"),
        time: match fields.get("time") {
            Some(AMQPValue::Timestamp(secs)) => {
                DateTime::from_timestamp(i64::try_from(*secs).unwrap_or(0), 0)
            }
            _ => None,
        },
    })
}

/// A header value as text: strings as they are (lossy UTF-8), numbers in decimal, anything
/// else in its debug form.
fn as_text(value: &AMQPValue) -> String {
    match value {
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        AMQPValue::ShortString(s) => s.to_string(),
        AMQPValue::Boolean(b) => b.to_string(),
        AMQPValue::ShortShortInt(n) => n.to_string(),
        AMQPValue::ShortShortUInt(n) => n.to_string(),
        AMQPValue::ShortInt(n) => n.to_string(),
        AMQPValue::ShortUInt(n) => n.to_string(),
        AMQPValue::LongInt(n) => n.to_string(),
        AMQPValue::LongUInt(n) => n.to_string(),
        AMQPValue::LongLongInt(n) => n.to_string(),
        AMQPValue::Timestamp(n) => n.to_string(),
        other => format!("{other:?}"),
    }
}
