//! [`AmqpBroker`]: the handle of the RabbitMQ backend. It owns the two supervised connections
//! (publishing, and — from the first `consume` — consuming), the router that spreads tasks over
//! the queues and the delay ladder, and the background tasks, which stop on
//! [`Broker::close`](cogman_core::Broker::close) or when the last clone is dropped. Its trait
//! impls live in `queue` ([`Broker`](cogman_core::Broker)) and `stats`
//! ([`QueueStatsSource`](cogman_core::QueueStatsSource)).

use std::fmt;
use std::sync::Arc;

use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use cogman_core::task::validate_name;
use cogman_core::{BrokerError, Limits, Task};

use crate::config::AmqpConfig;
use crate::context::ConsumeContext;
use crate::courier::Courier;
use crate::error;
use crate::link::{Connector, Link};
use crate::publisher::Publisher;
use crate::router::Router;
use crate::sets::NamedSets;
use crate::topology::Topology;

/// cogman's RabbitMQ broker. Cheap to clone; clones share connections.
///
/// ```no_run
/// # async fn example() -> Result<(), cogman_core::BrokerError> {
/// use cogman_amqp::{AmqpBroker, AmqpConfig};
/// use cogman_core::Broker as _;
/// let broker = AmqpBroker::connect(AmqpConfig::new("amqp://guest:guest@127.0.0.1:5672/%2f")).await?;
/// broker.close().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AmqpBroker {
    inner: Arc<Inner>,
}

struct Inner {
    config: AmqpConfig,
    topology: Arc<Topology>,
    connector: Arc<Connector>,
    router: Arc<Router>,
    publisher: Publisher,
    context: Arc<ConsumeContext>,
    limits: Limits,
    consume_link: OnceCell<Link>,
    cancel: CancellationToken,
    tracker: TaskTracker,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

impl AmqpBroker {
    /// Validates `config`, connects the publishing connection and declares the topology.
    /// From then on a background task keeps the connection up (see the crate docs). When
    /// RabbitMQ cannot be reached now, the broker is returned anyway and connects in the
    /// background: publishes wait for it (up to `connection_timeout`) and consumers start
    /// when it is up.
    ///
    /// # Errors
    /// [`BrokerError::Other`] for an invalid config, refused credentials or a queue that
    /// already exists with other arguments.
    pub async fn connect(config: AmqpConfig) -> Result<AmqpBroker, BrokerError> {
        let topology = Arc::new(Topology::new(&config).map_err(error::config)?);
        let connector = Arc::new(Connector::new(&config, Arc::clone(&topology))?);
        let cancel = CancellationToken::new();
        let tracker = TaskTracker::new();
        let link = Link::start(Arc::clone(&connector), "publish", cancel.clone(), &tracker).await?;
        let up = link.current().is_some();
        let publisher = Publisher::new(
            link,
            Arc::clone(&topology),
            Arc::new(NamedSets::new(Arc::clone(&topology))),
            config.connection_timeout,
            config.confirm_timeout,
        );
        let router = Arc::new(Router::new(Arc::clone(&topology)));
        let courier = Arc::new(Courier::new(
            publisher.clone(),
            Arc::clone(&router),
            Arc::clone(&topology),
        ));
        let limits = Limits {
            max_payload_bytes: config.max_payload_bytes,
            ..Limits::default()
        };
        let context = Arc::new(ConsumeContext {
            courier,
            tracker: tracker.clone(),
            limits,
            max_deliveries: config.max_deliveries,
            queue_type: config.queue_type,
        });
        tracing::info!(uri = %config.redacted_uri(), prefix = %config.queue_prefix, queue_type = config.queue_type.as_str(), up, "RabbitMQ broker started");
        Ok(AmqpBroker {
            inner: Arc::new(Inner {
                config,
                topology,
                connector,
                router,
                publisher,
                context,
                limits,
                consume_link: OnceCell::new(),
                cancel,
                tracker,
            }),
        })
    }

    /// The configuration this broker runs with.
    pub fn config(&self) -> &AmqpConfig {
        &self.inner.config
    }

    /// The queue and exchange names it uses.
    pub fn topology(&self) -> &Topology {
        &self.inner.topology
    }

    pub(crate) fn publisher(&self) -> &Publisher {
        &self.inner.publisher
    }

    /// The topology, shared with the consumers.
    pub(crate) fn shared_topology(&self) -> Arc<Topology> {
        Arc::clone(&self.inner.topology)
    }

    pub(crate) fn router(&self) -> &Router {
        &self.inner.router
    }

    pub(crate) fn context(&self) -> &Arc<ConsumeContext> {
        &self.inner.context
    }

    /// Fires on `close` (or when the last clone is dropped); stops every background task.
    pub(crate) fn cancel(&self) -> &CancellationToken {
        &self.inner.cancel
    }

    /// The broker's background tasks.
    pub(crate) fn tracker(&self) -> &TaskTracker {
        &self.inner.tracker
    }

    /// Refuses tasks the wire format or the limits cannot carry, before anything is sent.
    pub(crate) fn check(&self, task: &Task) -> Result<(), BrokerError> {
        if task.payload.len() > self.inner.limits.max_payload_bytes {
            return Err(BrokerError::Malformed(format!(
                "payload is {} bytes; the limit is {} bytes (max_payload_bytes)",
                task.payload.len(),
                self.inner.limits.max_payload_bytes
            )));
        }
        validate_name(&task.name, &self.inner.limits)
            .map_err(|e| BrokerError::Malformed(e.to_string()))
    }

    /// The consuming connection, started by the first call.
    pub(crate) async fn consume_link(&self) -> Result<Link, BrokerError> {
        let inner = &self.inner;
        inner
            .consume_link
            .get_or_try_init(|| {
                Link::start(
                    Arc::clone(&inner.connector),
                    "consume",
                    inner.cancel.clone(),
                    &inner.tracker,
                )
            })
            .await
            .cloned()
    }
}

impl fmt::Debug for AmqpBroker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpBroker")
            .field("config", &self.inner.config)
            .field("publish", self.inner.publisher.link())
            .field("consume", &self.inner.consume_link.get())
            .finish()
    }
}
