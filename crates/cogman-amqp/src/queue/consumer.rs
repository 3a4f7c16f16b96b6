//! [`AmqpConsumer`]: the worker's stream of deliveries. A feed task (see `feed`) keeps one
//! channel per priority subscribed to every queue of that priority in the sets of the named
//! queues served, and forwards deliveries into two buffers; `next()` always takes from the high buffer first, then screens the message
//! (see `screen`) before handing it out.
//!
//! High first, even in a tight loop: when the high buffer is momentarily empty but a high
//! message was handed out within the last [`HIGH_GRACE`], the broker is most likely sending its
//! replacement (it does so on each ack), so `next()` waits up to [`HIGH_GRACE`] for it before
//! handing out a low message. Once high traffic stops, low messages flow without any pause.
//!
//! Prefetch: each channel has a channel-wide (`global`) QoS of `ConsumeOptions::prefetch`, so
//! at most `prefetch` high and `prefetch` low messages are buffered or in the worker's hands
//! at once. Keep it near the worker's concurrency: a larger value only parks messages in this
//! process while other workers could run them.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::TaskTracker;

use cogman_core::{BrokerError, ConsumeOptions, Consumer, Delivery};

use super::{feed, screen};
use crate::context::ConsumeContext;
use crate::link::Link;
use crate::received::Received;
use crate::topology::{QueueSet, Topology};

/// How long `next()` waits for a high-priority message that is probably on its way before it
/// hands out a low one instead.
const HIGH_GRACE: Duration = Duration::from_millis(5);

/// Deliveries from the work queues of the named queues served, high priority first.
#[derive(Debug)]
pub(crate) struct AmqpConsumer {
    high: mpsc::UnboundedReceiver<Received>,
    low: mpsc::UnboundedReceiver<Received>,
    /// The low message next in line, held while waiting out the grace for a high one.
    held_low: Option<Received>,
    /// When a high message was last handed out.
    last_high: Option<Instant>,
    context: Arc<ConsumeContext>,
    cancel: CancellationToken,
    _stop_feed: DropGuard,
}

impl AmqpConsumer {
    /// Starts the feed task on `link`; it stops when this consumer is dropped or `cancel`
    /// (the broker's) fires.
    pub(crate) fn start(
        link: Link,
        topology: Arc<Topology>,
        sets: Vec<Arc<QueueSet>>,
        options: ConsumeOptions,
        context: Arc<ConsumeContext>,
        cancel: CancellationToken,
        tracker: &TaskTracker,
    ) -> AmqpConsumer {
        let (high_tx, high) = mpsc::unbounded_channel();
        let (low_tx, low) = mpsc::unbounded_channel();
        let feed_cancel = cancel.child_token();
        tracker.spawn(
            feed::Feed {
                link,
                topology,
                sets,
                options,
                high: high_tx,
                low: low_tx,
                cancel: feed_cancel.clone(),
            }
            .run(),
        );
        AmqpConsumer {
            high,
            low,
            held_low: None,
            last_high: None,
            context,
            cancel,
            _stop_feed: feed_cancel.drop_guard(),
        }
    }

    /// The next buffered message, high before low; waits when both buffers are empty.
    async fn receive(&mut self) -> Result<Received, BrokerError> {
        if self.cancel.is_cancelled() {
            return Err(BrokerError::Closed);
        }
        if let Ok(message) = self.high.try_recv() {
            return Ok(self.took_high(message));
        }
        if self.held_low.is_none() {
            tokio::select! {
                biased;
                () = self.cancel.cancelled() => return Err(BrokerError::Closed),
                Some(message) = self.high.recv() => return Ok(self.took_high(message)),
                Some(message) = self.low.recv() => self.held_low = Some(message),
                else => return Err(BrokerError::Closed),
            }
        }
        // The low candidate stays in `held_low` across this wait, so dropping the `next()`
        // future here loses nothing.
        if self.last_high.is_some_and(|at| at.elapsed() < HIGH_GRACE)
            && let Ok(Some(message)) = tokio::time::timeout(HIGH_GRACE, self.high.recv()).await
        {
            return Ok(self.took_high(message));
        }
        self.held_low.take().ok_or(BrokerError::Closed)
    }

    fn took_high(&mut self, message: Received) -> Received {
        self.last_high = Some(Instant::now());
        message
    }
}

#[async_trait]
impl Consumer for AmqpConsumer {
    /// Waits for the next task. While the broker is unreachable this simply waits: the feed
    /// resubscribes by itself when the connection comes back. Cancel-safe: dropping the
    /// future before it completes loses no message.
    async fn next(&mut self) -> Result<Delivery, BrokerError> {
        loop {
            let message = self.receive().await?;
            if !message.acker.usable() {
                // Its channel died while it sat in the buffer: the broker delivers it again.
                continue;
            }
            if let Some(delivery) = screen::screen(message, &self.context) {
                return Ok(delivery);
            }
        }
    }
}
