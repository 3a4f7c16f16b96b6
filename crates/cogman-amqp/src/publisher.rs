//! [`Publisher`]: durable publishing on the publishing [`Link`]. Every message is published
//! persistent and `mandatory` on a confirm-mode channel, and the call returns only after the
//! broker's ack (each confirm bounded by `confirm_timeout`). When the connection or channel
//! fails before the ack, the message is published again once the link is back (up to
//! `connection_timeout`): a retried message may be stored twice, never lost.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lapin::options::BasicPublishOptions;
use lapin::types::ShortString;
use lapin::{BasicProperties, Channel, Confirmation};
use tokio::time::Instant;

use cogman_core::BrokerError;

use crate::link::Link;
use crate::sets::NamedSets;
use crate::topology::{QueueSet, Topology};
use crate::{channel, error};

/// Pause between attempts after a failed publish, so a dying connection is not hammered.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// One message to publish.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing<'a> {
    /// Exchange (`""` for the default exchange, which routes to the queue named by the key).
    pub(crate) exchange: ShortString,
    /// Routing key.
    pub(crate) routing_key: ShortString,
    /// Properties and headers.
    pub(crate) properties: BasicProperties,
    /// Body.
    pub(crate) body: &'a [u8],
}

/// Publishes with confirms; cheap to clone (all clones share one channel).
#[derive(Clone, Debug)]
pub(crate) struct Publisher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    link: Link,
    topology: Arc<Topology>,
    sets: Arc<NamedSets>,
    channel: Mutex<Option<Channel>>,
    opening: tokio::sync::Mutex<()>,
    connection_timeout: Duration,
    confirm_timeout: Duration,
}

/// How one attempt ended, when it did not succeed.
enum Failure {
    /// Try again (after a pause) until the deadline.
    Retry(BrokerError),
    /// The broker returned the message: a queue or exchange is missing (deleted while cogman
    /// ran). Worth one retry after declaring the topology again.
    Unroutable(BrokerError),
    /// Give up now.
    Fatal(BrokerError),
}

impl Publisher {
    pub(crate) fn new(
        link: Link,
        topology: Arc<Topology>,
        sets: Arc<NamedSets>,
        connection_timeout: Duration,
        confirm_timeout: Duration,
    ) -> Self {
        Publisher {
            inner: Arc::new(Inner {
                link,
                topology,
                sets,
                channel: Mutex::new(None),
                opening: tokio::sync::Mutex::new(()),
                connection_timeout,
                confirm_timeout,
            }),
        }
    }

    /// The link this publisher publishes on.
    pub(crate) fn link(&self) -> &Link {
        &self.inner.link
    }

    /// Publishes `message` and waits for the broker's ack.
    ///
    /// # Errors
    /// [`BrokerError::Unavailable`] when no connection came back within `connection_timeout`;
    /// [`BrokerError::ConfirmTimeout`] when the broker (connected) did not confirm in time;
    /// [`BrokerError::Refused`] when it nacked the message, or returned it as unroutable even
    /// after the topology was declared again;
    /// [`BrokerError::Closed`] after the broker was closed.
    pub(crate) async fn publish(&self, message: &Outgoing<'_>) -> Result<(), BrokerError> {
        let deadline = Instant::now() + self.inner.connection_timeout;
        let mut redeclared = false;
        loop {
            match self.attempt(message, deadline).await {
                Ok(()) => return Ok(()),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Unroutable(e)) => {
                    if redeclared {
                        return Err(e);
                    }
                    tracing::warn!(routing_key = %message.routing_key, "message returned as unroutable; declaring the topology again");
                    self.redeclare(deadline).await?;
                    redeclared = true;
                }
                Err(Failure::Retry(e)) => {
                    if Instant::now() >= deadline {
                        return Err(e);
                    }
                    tracing::debug!(error = %crate::error::chain(&e), routing_key = %message.routing_key, "publish failed; retrying");
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
        }
    }

    async fn attempt(&self, message: &Outgoing<'_>, deadline: Instant) -> Result<(), Failure> {
        let channel = self.channel(deadline).await.map_err(|e| match e {
            BrokerError::Closed => Failure::Fatal(e),
            e if Instant::now() >= deadline => Failure::Fatal(e),
            e => Failure::Retry(e),
        })?;
        // The send and the confirm share one timeout: a send can hang too while the broker
        // shuts down (lapin#409).
        let sent = async {
            channel
                .basic_publish(
                    message.exchange.clone(),
                    message.routing_key.clone(),
                    BasicPublishOptions {
                        mandatory: true,
                        immediate: false,
                    },
                    message.body,
                    message.properties.clone(),
                )
                .await?
                .await
        };
        let confirmation = match tokio::time::timeout(self.inner.confirm_timeout, sent).await {
            Ok(Ok(confirmation)) => confirmation,
            Ok(Err(e)) => {
                self.forget(&channel);
                return Err(Failure::Retry(error::unavailable(e)));
            }
            Err(_) if channel.status().connected() => {
                return Err(Failure::Fatal(BrokerError::ConfirmTimeout(
                    self.inner.confirm_timeout,
                )));
            }
            Err(_) => {
                self.forget(&channel);
                return Err(Failure::Retry(error::unavailable_msg(
                    "the channel closed before the broker confirmed the publish",
                )));
            }
        };
        match confirmation {
            Confirmation::Ack(None) => Ok(()),
            Confirmation::Ack(Some(returned)) => {
                Err(Failure::Unroutable(BrokerError::Refused(format!(
                    "unroutable: exchange {:?} has no queue for routing key {:?} ({} {})",
                    message.exchange.as_str(),
                    message.routing_key.as_str(),
                    returned.reply_code,
                    returned.reply_text
                ))))
            }
            Confirmation::Nack(_) => Err(Failure::Fatal(BrokerError::Refused(
                "the broker nacked the publish".into(),
            ))),
            Confirmation::NotRequested => Err(Failure::Fatal(BrokerError::Other(Box::new(
                error::Message("publisher confirms are not enabled on the channel".into()),
            )))),
        }
    }

    /// Declares the whole topology, with the named queues' sets declared so far, on a fresh
    /// channel of the current connection.
    async fn redeclare(&self, deadline: Instant) -> Result<(), BrokerError> {
        let channel = self.inner.link.channel(Some(deadline)).await?;
        let declared = async {
            self.inner.topology.declare(&channel).await?;
            self.inner.sets.redeclare(&channel).await
        }
        .await;
        let _ = channel.close(200, "topology declared".into()).await;
        declared.map_err(error::connect)
    }

    /// The sets of named queue `queue`, declared on the broker the first time this process
    /// asks for them (later calls answer from memory).
    ///
    /// # Errors
    /// [`BrokerError::Malformed`] for a name the topology refuses; the link's error when the
    /// broker cannot be reached within `connection_timeout`; a declaration refused by the
    /// broker (a queue of that name exists with other arguments).
    pub(crate) async fn queue_set(&self, queue: &str) -> Result<Arc<QueueSet>, BrokerError> {
        if let Some(set) = self.inner.sets.known(queue) {
            return Ok(set);
        }
        let set = self.inner.sets.named(queue)?;
        let deadline = Instant::now() + self.inner.connection_timeout;
        let channel = self.inner.link.channel(Some(deadline)).await?;
        let declared = self.inner.topology.declare_set(&channel, &set).await;
        let _ = channel.close(200, "queue set declared".into()).await;
        declared.map_err(error::connect)?;
        self.inner.sets.remember(&set);
        Ok(set)
    }

    /// The named queues' sets declared so far.
    pub(crate) fn sets(&self) -> &Arc<NamedSets> {
        &self.inner.sets
    }

    /// The open confirm-mode channel, opening one on the current connection if needed.
    async fn channel(&self, deadline: Instant) -> Result<Channel, BrokerError> {
        if let Some(channel) = self.cached() {
            return Ok(channel);
        }
        let _opening = self.inner.opening.lock().await;
        if let Some(channel) = self.cached() {
            return Ok(channel);
        }
        let session = self.inner.link.session(Some(deadline)).await?;
        let channel = channel::open_confirming(&session.connection).await?;
        *self.lock() = Some(channel.clone());
        Ok(channel)
    }

    /// Closes the cached channel and waits for the broker's close-ok, so it is closed once,
    /// before its connection: dropped later, a channel still open would be closed again by
    /// lapin while the connection closes (an `invalid channel state: Closing` error).
    pub(crate) async fn close(&self) {
        let channel = self.lock().take();
        if let Some(channel) = channel.filter(|c| c.status().connected()) {
            let _ = tokio::time::timeout(
                self.inner.confirm_timeout,
                channel.close(200, "publisher closed".into()),
            )
            .await;
        }
    }

    fn cached(&self) -> Option<Channel> {
        self.lock()
            .as_ref()
            .filter(|c| c.status().connected())
            .cloned()
    }

    /// Drops the cached channel if it is `failed`, so the next attempt opens a new one.
    fn forget(&self, failed: &Channel) {
        let mut cached = self.lock();
        if cached.as_ref().is_some_and(|c| c.id() == failed.id()) {
            *cached = None;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Channel>> {
        self.inner
            .channel
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
