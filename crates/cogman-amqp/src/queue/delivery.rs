//! [`AmqpDeliveryHandle`]: how a worker settles a task it received from RabbitMQ. `ack` is a
//! checked basic.ack, `requeue` a basic.nack with requeue (the redelivery is counted, see
//! `queue::screen`), `dead_letter` copies the message to the dead-letter queue with the
//! reason and then acks it, so it never comes back; `defer` sends a copy through the delay
//! ladder back to the queue it came from, with its handler wait in headers, then acks it;
//! `postpone` (a limit makes the task wait) the same with its headers as they are.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use cogman_core::{BrokerError, DeliveryHandle, HandlerWait};

use crate::context::ConsumeContext;
use crate::courier::{Settlement, settle};
use crate::received::Received;

/// Settles one RabbitMQ delivery.
pub(crate) struct AmqpDeliveryHandle {
    message: Received,
    context: Arc<ConsumeContext>,
}

impl AmqpDeliveryHandle {
    pub(crate) fn new(message: Received, context: Arc<ConsumeContext>) -> Self {
        AmqpDeliveryHandle { message, context }
    }
}

impl fmt::Debug for AmqpDeliveryHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpDeliveryHandle")
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl DeliveryHandle for AmqpDeliveryHandle {
    async fn ack(self: Box<Self>) -> Result<(), BrokerError> {
        settle(&self.message.acker, Settlement::Ack).await
    }

    async fn requeue(self: Box<Self>) -> Result<(), BrokerError> {
        settle(&self.message.acker, Settlement::Requeue).await
    }

    async fn dead_letter(self: Box<Self>, reason: &str) -> Result<(), BrokerError> {
        self.context
            .courier
            .dead_letter(&self.message, reason)
            .await
    }

    async fn defer(
        self: Box<Self>,
        until: DateTime<Utc>,
        wait: HandlerWait,
    ) -> Result<(), BrokerError> {
        let delay = (until - Utc::now()).to_std().unwrap_or_default();
        let deferred = self.context.courier.defer(&self.message, delay, wait).await;
        if deferred.is_err() {
            // Not moved: put it back rather than leave it unsettled on an open channel.
            let _ = settle(&self.message.acker, Settlement::Requeue).await;
        }
        deferred
    }

    async fn postpone(self: Box<Self>, until: DateTime<Utc>) -> Result<(), BrokerError> {
        let delay = (until - Utc::now()).to_std().unwrap_or_default();
        let moved = self.context.courier.redelay(&self.message, delay).await;
        if moved.is_err() {
            // Not moved: put it back rather than leave it unsettled on an open channel.
            let _ = settle(&self.message.acker, Settlement::Requeue).await;
        }
        moved
    }
}
