//! Handing the queue's dead letters over to another task log (the embedded queue with a
//! PostgreSQL or Redis log, [`SqliteOptions::hand_over_dead_letters`](crate::SqliteOptions)):
//! the feed gives the oldest row of `dead_letters` to the dead-letter collector, which stores it
//! in the log and fails its task there, and only then acks it, which deletes the row. A row is
//! never deleted before it is stored; one stored twice (the ack was lost, or two processes
//! took it) is kept once, by its key.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{BrokerError, CollectedDeadLetter, DeadLetterFeed, DeliveryHandle, HandlerWait};

use crate::log::dead_letters;
use crate::store::SqliteStore;

/// Hands the file's dead letters over one by one, oldest first.
#[derive(Debug)]
pub(crate) struct HandOverFeed {
    store: SqliteStore,
}

impl HandOverFeed {
    pub(crate) fn new(store: SqliteStore) -> Self {
        HandOverFeed { store }
    }
}

#[async_trait]
impl DeadLetterFeed for HandOverFeed {
    async fn next(&mut self) -> Result<CollectedDeadLetter, BrokerError> {
        loop {
            if self.store.is_closed() {
                return Err(BrokerError::Closed);
            }
            let oldest = self
                .store
                .reader()
                .run(dead_letters::oldest_to_hand_over)
                .await?;
            if let Some((seq, entry)) = oldest {
                let handle = HandedOver {
                    store: self.store.clone(),
                    seq,
                };
                return Ok(CollectedDeadLetter::new(entry, Box::new(handle)));
            }
            tokio::time::sleep(self.store.options().poll_interval).await;
        }
    }
}

/// One handed-over row: `ack` deletes it; the other settlements leave it to be handed over
/// again.
#[derive(Debug)]
struct HandedOver {
    store: SqliteStore,
    seq: i64,
}

#[async_trait]
impl DeliveryHandle for HandedOver {
    async fn ack(self: Box<Self>) -> Result<(), BrokerError> {
        let seq = self.seq;
        self.store
            .writer()
            .run(move |conn| dead_letters::delete(conn, seq))
            .await?;
        Ok(())
    }

    async fn requeue(self: Box<Self>) -> Result<(), BrokerError> {
        Ok(())
    }

    async fn dead_letter(self: Box<Self>, _reason: &str) -> Result<(), BrokerError> {
        Ok(())
    }

    async fn defer(
        self: Box<Self>,
        _until: DateTime<Utc>,
        _wait: HandlerWait,
    ) -> Result<(), BrokerError> {
        Ok(())
    }

    async fn postpone(self: Box<Self>, _until: DateTime<Utc>) -> Result<(), BrokerError> {
        Ok(())
    }
}
