//! The [`Broker`] side of [`AmqpBroker`]: `publish` routes the task (work queue or delay
//! ladder) and publishes it with confirms; `consume` returns an [`AmqpConsumer`] on the
//! consuming connection; `close` stops the background tasks. The consumer lives in
//! [`consumer`], its feed task in [`feed`], the screening of received messages in [`screen`],
//! settling in [`delivery`], the dead-letter collector's feed in [`dead_letters`].

mod consumer;
mod dead_letters;
mod delivery;
mod feed;
mod screen;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;

use cogman_core::{
    Broker, BrokerError, ConsumeOptions, Consumer, DeadLetterFeed, QueueStatsSource, Task,
};

use crate::broker::AmqpBroker;
use crate::publisher::Outgoing;
use crate::wire;
use consumer::AmqpConsumer;

/// How long `close` waits for background tasks to finish.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

#[async_trait]
impl Broker for AmqpBroker {
    async fn publish(&self, task: &Task) -> Result<(), BrokerError> {
        self.check(task)?;
        let set = self.publisher().queue_set(&task.queue).await?;
        let route = self
            .router()
            .route(&set, task.priority, task.run_at, Utc::now());
        let message = Outgoing {
            exchange: route.exchange,
            routing_key: route.routing_key,
            properties: wire::encode(task),
            body: &task.payload,
        };
        self.publisher().publish(&message).await
    }

    async fn consume(&self, options: ConsumeOptions) -> Result<Box<dyn Consumer>, BrokerError> {
        if self.cancel().is_cancelled() {
            return Err(BrokerError::Closed);
        }
        let link = self.consume_link().await?;
        let mut sets = Vec::with_capacity(options.queues.len());
        for queue in &options.queues {
            let set = self.publisher().sets().named(queue)?;
            self.publisher().sets().remember(&set);
            sets.push(set);
        }
        Ok(Box::new(AmqpConsumer::start(
            link,
            self.shared_topology(),
            sets,
            options,
            Arc::clone(self.context()),
            self.cancel().clone(),
            self.tracker(),
        )))
    }

    async fn close(&self) -> Result<(), BrokerError> {
        self.publisher().close().await;
        self.cancel().cancel();
        self.tracker().close();
        if tokio::time::timeout(CLOSE_GRACE, self.tracker().wait())
            .await
            .is_err()
        {
            tracing::warn!("RabbitMQ background tasks did not stop within {CLOSE_GRACE:?}");
        }
        Ok(())
    }

    fn queue_stats_source(&self) -> Option<&dyn QueueStatsSource> {
        Some(self)
    }

    async fn dead_letter_feed(&self) -> Result<Option<Box<dyn DeadLetterFeed>>, BrokerError> {
        if self.cancel().is_cancelled() {
            return Err(BrokerError::Closed);
        }
        let link = self.consume_link().await?;
        Ok(Some(Box::new(dead_letters::AmqpDeadLetterFeed::start(
            link,
            self.shared_topology(),
            Arc::clone(self.context()),
            self.cancel(),
        ))))
    }
}
