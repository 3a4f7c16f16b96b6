//! The [`Broker`] trait: publish a task durably and consume deliveries. A [`Delivery`] owns
//! its task and the handle that settles it; `ack`, `requeue` and `dead_letter` consume the
//! delivery, so the type system rules out settling twice. `defer` hands a task the worker has no
//! handler for back to the broker until a later time, counting its waits ([`HandlerWait`]).
//! Optional abilities (queue stats) are separate traits reached through
//! [`Broker::queue_stats_source`].

use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::task::{Priority, Task};

/// A boxed error from a backend library, kept as the source of a [`BrokerError`].
pub type BoxError = Box<dyn StdError + Send + Sync + 'static>;

/// Why a broker call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrokerError {
    /// The broker cannot be reached right now (connection lost, server restarting, database
    /// busy). Transient: try again later.
    #[error("broker unavailable")]
    Unavailable(#[source] BoxError),
    /// The broker did not confirm a publish in time; it may or may not hold the task.
    #[error("publish not confirmed within {0:?}")]
    ConfirmTimeout(Duration),
    /// The broker refused the publish (nack, unroutable).
    #[error("publish refused by the broker: {0}")]
    Refused(String),
    /// The client's in-memory buffer for tasks sent while the broker is unreachable is full.
    #[error("broker unreachable and the send buffer is full ({capacity} tasks)")]
    BufferFull {
        /// The configured capacity.
        capacity: usize,
    },
    /// The broker was closed by this process.
    #[error("broker closed")]
    Closed,
    /// A message could not be encoded or decoded.
    #[error("malformed message: {0}")]
    Malformed(String),
    /// Anything else; not transient.
    #[error("broker error")]
    Other(#[source] BoxError),
}

impl BrokerError {
    /// True when the same call may succeed later (reconnect and retry); false when retrying
    /// cannot help.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            BrokerError::Unavailable(_) | BrokerError::ConfirmTimeout(_)
        )
    }
}

/// How a worker consumes.
#[derive(Debug, Clone)]
pub struct ConsumeOptions {
    /// Deliveries the broker may hand over before they are settled.
    pub prefetch: u16,
    /// A name for this consumer (shown in queue stats and leases).
    pub consumer_tag: String,
    /// How long a claimed task stays with this consumer before the broker may hand it to
    /// another one, for brokers that use leases (embedded SQLite). Extended while the task runs.
    pub lease: Duration,
    /// The named queues to consume (each with its high and low sets); tasks of other queues
    /// are left for the workers that serve them. Default `["default"]`.
    pub queues: Vec<String>,
}

impl Default for ConsumeOptions {
    fn default() -> Self {
        ConsumeOptions {
            prefetch: 10,
            consumer_tag: "cogman".into(),
            lease: Duration::from_secs(30),
            queues: vec![crate::task::default_queue()],
        }
    }
}

/// Hands tasks from producers to workers. Implemented by the embedded SQLite queue and by
/// RabbitMQ.
#[async_trait]
pub trait Broker: Send + Sync + fmt::Debug {
    /// Stores `task` durably (committed or confirmed) before returning. A task whose `run_at`
    /// is in the future is not delivered before then.
    ///
    /// # Errors
    /// [`BrokerError::Unavailable`] or [`BrokerError::ConfirmTimeout`] when the broker cannot
    /// confirm; the task may then be held nowhere, or (after a timeout) already be stored.
    async fn publish(&self, task: &Task) -> Result<(), BrokerError>;

    /// Starts consuming the named queues of `options.queues` (both priorities of each).
    /// High-priority work is delivered before low when both wait.
    ///
    /// # Errors
    /// [`BrokerError::Unavailable`] when the broker cannot be reached.
    async fn consume(&self, options: ConsumeOptions) -> Result<Box<dyn Consumer>, BrokerError>;

    /// Closes connections after in-flight calls finish.
    ///
    /// # Errors
    /// When the underlying connection reports an error on close.
    async fn close(&self) -> Result<(), BrokerError>;

    /// Queue statistics, when the broker can give them.
    fn queue_stats_source(&self) -> Option<&dyn QueueStatsSource> {
        None
    }

    /// Starts taking the dead letters this broker holds outside the task log (RabbitMQ's
    /// dead-letter queue), so they can be stored in the log's
    /// [`DeadLetterStore`](crate::DeadLetterStore), or that the embedded SQLite queue holds
    /// when the log is another store. `None` for brokers whose dead letters already are in the
    /// log (the embedded SQLite file that is also the log).
    ///
    /// # Errors
    /// [`BrokerError::Unavailable`] when the broker cannot be reached.
    async fn dead_letter_feed(&self) -> Result<Option<Box<dyn DeadLetterFeed>>, BrokerError> {
        Ok(None)
    }
}

/// Dead letters handed over one by one by a broker (see [`Broker::dead_letter_feed`]).
#[async_trait]
pub trait DeadLetterFeed: Send + fmt::Debug {
    /// Waits for the next dead letter.
    ///
    /// # Errors
    /// [`BrokerError::Closed`] after the broker was closed; a transient error while it is
    /// unreachable (the caller waits and calls again).
    async fn next(&mut self) -> Result<CollectedDeadLetter, BrokerError>;
}

/// A dead letter taken from a broker: store its entry, then [`ack`](Self::ack) it.
#[derive(Debug)]
pub struct CollectedDeadLetter {
    /// What to store (not yet bounded).
    pub entry: crate::dead_letters::NewDeadLetter,
    handle: Box<dyn DeliveryHandle>,
}

impl CollectedDeadLetter {
    /// Built by a broker.
    pub fn new(entry: crate::dead_letters::NewDeadLetter, handle: Box<dyn DeliveryHandle>) -> Self {
        CollectedDeadLetter { entry, handle }
    }

    /// Removes it from the broker. Call only after it is stored.
    ///
    /// # Errors
    /// When the broker cannot be reached; it is then handed over again.
    pub async fn ack(self) -> Result<(), BrokerError> {
        self.handle.ack().await
    }
}

/// A stream of deliveries for one worker.
#[async_trait]
pub trait Consumer: Send + fmt::Debug {
    /// Waits for the next delivery.
    ///
    /// # Errors
    /// [`BrokerError::Closed`] after the broker was closed; a transient error while the broker
    /// is unreachable (the caller waits and calls again; consumers resume by themselves).
    async fn next(&mut self) -> Result<Delivery, BrokerError>;
}

/// The backend's side of a [`Delivery`]: how to settle it.
#[async_trait]
pub trait DeliveryHandle: Send + Sync + fmt::Debug {
    /// The task is done (its outcome is recorded): remove it.
    async fn ack(self: Box<Self>) -> Result<(), BrokerError>;
    /// Put the task back to be delivered again (graceful stop).
    async fn requeue(self: Box<Self>) -> Result<(), BrokerError>;
    /// The message can never run: move it aside to the dead-letter store.
    async fn dead_letter(self: Box<Self>, reason: &str) -> Result<(), BrokerError>;
    /// This worker has no handler for the task: settle this delivery and deliver the task
    /// again (to any consumer) no earlier than `until`, carrying `wait` — the same task id,
    /// fields and headers, not counted as an unsettled delivery.
    async fn defer(
        self: Box<Self>,
        until: DateTime<Utc>,
        wait: HandlerWait,
    ) -> Result<(), BrokerError>;
    /// The task must wait (a rate or concurrency limit): settle this delivery and deliver the
    /// task again (to any consumer) no earlier than `until` — the same task id, fields and
    /// headers (a handler wait it carries is kept), not counted as an unsettled delivery.
    async fn postpone(self: Box<Self>, until: DateTime<Utc>) -> Result<(), BrokerError>;
    /// Keep the task claimed for `by` longer (brokers with leases).
    async fn extend_lease(&self, by: Duration) -> Result<(), BrokerError> {
        let _ = by;
        Ok(())
    }
}

/// How long a task has been waiting for a worker with a handler for its name: carried by
/// the broker from one [`Delivery::defer`] to the next delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlerWait {
    /// Times it was deferred so far (1 after the first).
    pub waits: u32,
    /// When it was first deferred.
    pub since: DateTime<Utc>,
}

impl HandlerWait {
    /// Longest pause between two deliveries of a task that waits for a handler.
    pub const MAX_PAUSE: Duration = Duration::from_secs(30);

    /// The pause after the `waits`-th deferral before the task is delivered again: a whole
    /// number of seconds drawn from 1 to `waits` (at most [`HandlerWait::MAX_PAUSE`]). It
    /// grows by a second per wait rather than doubling, so a task whose handler only one of
    /// several workers has reaches it in seconds, while one that no worker handles costs one
    /// delivery per 15 s on average. The draw is over the whole range so that tasks waiting
    /// side by side come back in a random order: a broker that hands deliveries out
    /// round-robin would otherwise give two tasks that come back in turn to the same wrong
    /// workers every time.
    pub fn pause(waits: u32) -> Duration {
        use rand::Rng as _;
        let ceiling = u64::from(waits.max(1)).min(Self::MAX_PAUSE.as_secs());
        Duration::from_secs(rand::rng().random_range(1..=ceiling))
    }
}

/// One task handed to a worker. Settle it exactly once.
#[derive(Debug)]
pub struct Delivery {
    task: Task,
    delivery_count: u32,
    handler_wait: Option<HandlerWait>,
    handle: Box<dyn DeliveryHandle>,
}

impl Delivery {
    /// Built by a broker.
    pub fn new(task: Task, delivery_count: u32, handle: Box<dyn DeliveryHandle>) -> Self {
        Delivery {
            task,
            delivery_count,
            handler_wait: None,
            handle,
        }
    }

    /// With the wait the broker carried from an earlier [`Delivery::defer`].
    #[must_use]
    pub fn with_handler_wait(mut self, wait: Option<HandlerWait>) -> Self {
        self.handler_wait = wait;
        self
    }

    /// How long the task has waited for a handler, when a worker deferred it before.
    pub fn handler_wait(&self) -> Option<HandlerWait> {
        self.handler_wait
    }

    /// The task to run.
    pub fn task(&self) -> &Task {
        &self.task
    }

    /// 1 on first delivery; more after a crash or requeue.
    pub fn delivery_count(&self) -> u32 {
        self.delivery_count
    }

    /// Removes the task from the broker. Call only after its outcome is recorded.
    ///
    /// # Errors
    /// When the broker cannot be reached; the task will then be delivered again.
    pub async fn ack(self) -> Result<(), BrokerError> {
        self.handle.ack().await
    }

    /// Puts the task back for another delivery.
    ///
    /// # Errors
    /// When the broker cannot be reached; the task comes back anyway (lease or channel close).
    pub async fn requeue(self) -> Result<(), BrokerError> {
        self.handle.requeue().await
    }

    /// Moves the task to the dead-letter store with `reason`.
    ///
    /// # Errors
    /// When the broker cannot be reached.
    pub async fn dead_letter(self, reason: &str) -> Result<(), BrokerError> {
        self.handle.dead_letter(reason).await
    }

    /// Settles this delivery and has the broker deliver the task again no earlier than
    /// `until`, with `wait` (a worker without a handler for it gives it back for another).
    ///
    /// # Errors
    /// When the broker cannot be reached; the task comes back anyway (lease or channel close).
    pub async fn defer(self, until: DateTime<Utc>, wait: HandlerWait) -> Result<(), BrokerError> {
        self.handle.defer(until, wait).await
    }

    /// Settles this delivery and has the broker deliver the task again no earlier than
    /// `until` (the task waits for a limit); not a failure, and no retry is spent.
    ///
    /// # Errors
    /// When the broker cannot be reached; the task comes back anyway (lease or channel close).
    pub async fn postpone(self, until: DateTime<Utc>) -> Result<(), BrokerError> {
        self.handle.postpone(until).await
    }

    /// Extends the claim on the task (no-op for brokers without leases).
    ///
    /// # Errors
    /// When the broker cannot be reached, or the lease was lost.
    pub async fn extend_lease(&self, by: Duration) -> Result<(), BrokerError> {
        self.handle.extend_lease(by).await
    }
}

/// One queue's numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    /// Queue name.
    pub name: String,
    /// Which priority set it belongs to (None for auxiliary queues: delay, dead letter).
    pub priority: Option<Priority>,
    /// Tasks ready to run.
    pub ready: u64,
    /// Tasks waiting for their run time.
    pub scheduled: u64,
    /// Tasks delivered and not yet settled.
    pub in_flight: u64,
    /// Consumers attached, when known.
    pub consumers: Option<u32>,
}

/// Reads queue statistics (optional broker ability).
#[async_trait]
pub trait QueueStatsSource: Send + Sync {
    /// Numbers for every queue cogman uses.
    ///
    /// # Errors
    /// When the broker cannot be reached.
    async fn queue_stats(&self) -> Result<Vec<QueueStats>, BrokerError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handler_wait_pauses_grow_by_a_second_up_to_the_cap() {
        for _ in 0..50 {
            assert_eq!(HandlerWait::pause(1), Duration::from_secs(1));
            let fourth = HandlerWait::pause(4);
            assert!((1..=4).contains(&fourth.as_secs()), "{fourth:?}");
            let late = HandlerWait::pause(1000);
            assert!((1..=30).contains(&late.as_secs()), "{late:?}");
        }
    }
}
