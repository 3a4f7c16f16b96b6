//! [`Courier`]: moves a received message somewhere else — the dead-letter queue, back to its
//! work queue with its delivery count recorded, or onto the delay ladder (a task not due yet,
//! or one deferred for want of a handler, with its wait recorded) — by publishing a
//! copy (confirmed) and only then acking the original. A crash in between leaves two copies,
//! never none. Also [`settle`], the checked ack/nack every path uses.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lapin::Acker;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use lapin::types::{AMQPValue, ShortString};

use cogman_core::{BrokerError, HandlerWait};

use crate::error;
use crate::publisher::{Outgoing, Publisher};
use crate::received::Received;
use crate::router::{Route, Router};
use crate::topology::Topology;
use crate::wire::{headers, republish_properties, text, timestamp};

/// How to settle a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settlement {
    /// basic.ack: done, remove it.
    Ack,
    /// basic.nack with requeue: deliver it again.
    Requeue,
}

/// Acks or requeues a delivery, checking lapin's answer: `Ok(false)` means the channel is
/// gone and nothing was sent (the broker will deliver the message again).
pub(crate) async fn settle(acker: &Acker, how: Settlement) -> Result<(), BrokerError> {
    let sent = match how {
        Settlement::Ack => acker.ack(BasicAckOptions::default()).await,
        Settlement::Requeue => {
            acker
                .nack(BasicNackOptions {
                    multiple: false,
                    requeue: true,
                })
                .await
        }
    };
    match sent {
        Ok(true) => Ok(()),
        Ok(false) => Err(error::unavailable_msg(
            "the delivery's channel is closed; the broker will deliver the task again",
        )),
        Err(e) => Err(error::unavailable(e)),
    }
}

/// Republishes received messages; shared by the consumers and delivery handles of a broker.
#[derive(Debug)]
pub(crate) struct Courier {
    publisher: Publisher,
    router: Arc<Router>,
    topology: Arc<Topology>,
}

impl Courier {
    pub(crate) fn new(publisher: Publisher, router: Arc<Router>, topology: Arc<Topology>) -> Self {
        Courier {
            publisher,
            router,
            topology,
        }
    }

    /// Copies `message` to the dead-letter queue with `reason`, then acks it.
    pub(crate) async fn dead_letter(
        &self,
        message: &Received,
        reason: &str,
    ) -> Result<(), BrokerError> {
        let extra = vec![
            (headers::DEAD_LETTER_REASON, text(reason)),
            (headers::DEAD_LETTER_QUEUE, text(message.queue.as_str())),
            (headers::DEAD_LETTERED_AT, text(&timestamp(Utc::now()))),
        ];
        let route = Route {
            exchange: ShortString::from(""),
            routing_key: self.topology.dead_letter_queue().clone(),
        };
        self.forward(message, route, extra).await
    }

    /// Puts `message` back at the tail of its queue with `deliveries` recorded, then acks it.
    pub(crate) async fn restamp(
        &self,
        message: &Received,
        deliveries: u32,
    ) -> Result<(), BrokerError> {
        let extra = vec![(
            headers::DELIVERIES,
            AMQPValue::LongLongInt(i64::from(deliveries)),
        )];
        let route = Route {
            exchange: ShortString::from(""),
            routing_key: message.queue.clone(),
        };
        self.forward(message, route, extra).await
    }

    /// Sends `message` through the delay ladder back to its queue after `wait`, then acks it.
    pub(crate) async fn redelay(
        &self,
        message: &Received,
        wait: Duration,
    ) -> Result<(), BrokerError> {
        let route = self.router.delayed(&message.queue, wait);
        self.forward(message, route, Vec::new()).await
    }

    /// Sends `message` through the delay ladder back to its queue after `wait`, recording the
    /// handler wait `handler_wait` in its headers, then acks it.
    pub(crate) async fn defer(
        &self,
        message: &Received,
        wait: Duration,
        handler_wait: HandlerWait,
    ) -> Result<(), BrokerError> {
        let extra = vec![
            (
                headers::HANDLER_WAITS,
                AMQPValue::LongLongInt(i64::from(handler_wait.waits)),
            ),
            (headers::WAITING_SINCE, text(&timestamp(handler_wait.since))),
        ];
        let route = self.router.delayed(&message.queue, wait);
        self.forward(message, route, extra).await
    }

    async fn forward(
        &self,
        message: &Received,
        route: Route,
        extra: Vec<(&'static str, AMQPValue)>,
    ) -> Result<(), BrokerError> {
        let outgoing = Outgoing {
            exchange: route.exchange,
            routing_key: route.routing_key,
            properties: republish_properties(&message.properties, extra),
            body: &message.body,
        };
        self.publisher.publish(&outgoing).await?;
        settle(&message.acker, Settlement::Ack).await
    }
}
