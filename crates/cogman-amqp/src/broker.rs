//! [`AmqpBroker`]: the [`Broker`] implementation over RabbitMQ. It owns the two supervised
//! connections (publishing, and — from the first `consume` — consuming), the router that
//! spreads tasks over the queues and the delay ladder, and the background tasks, which stop on
//! [`Broker::close`] or when the last clone is dropped.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use cogman_core::task::validate_name;
use cogman_core::{Broker, BrokerError, ConsumeOptions, Consumer, Limits, QueueStatsSource, Task};

use crate::config::AmqpConfig;
use crate::consume::{AmqpConsumer, ConsumeContext};
use crate::courier::Courier;
use crate::error;
use crate::link::{Connector, Link};
use crate::publisher::{Outgoing, Publisher};
use crate::router::Router;
use crate::topology::Topology;
use crate::wire;

/// How long `close` waits for background tasks to finish.
const CLOSE_GRACE: Duration = Duration::from_secs(10);

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
        });
        tracing::info!(uri = %config.redacted_uri(), prefix = %config.queue_prefix, up, "RabbitMQ broker started");
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

    /// Refuses tasks the wire format or the limits cannot carry, before anything is sent.
    fn check(&self, task: &Task) -> Result<(), BrokerError> {
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

    async fn consume_link(&self) -> Result<Link, BrokerError> {
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

#[async_trait]
impl Broker for AmqpBroker {
    async fn publish(&self, task: &Task) -> Result<(), BrokerError> {
        self.check(task)?;
        let route = self
            .inner
            .router
            .route(task.priority, task.run_at, Utc::now());
        let message = Outgoing {
            exchange: route.exchange,
            routing_key: route.routing_key,
            properties: wire::encode(task),
            body: &task.payload,
        };
        self.inner.publisher.publish(&message).await
    }

    async fn consume(&self, options: ConsumeOptions) -> Result<Box<dyn Consumer>, BrokerError> {
        if self.inner.cancel.is_cancelled() {
            return Err(BrokerError::Closed);
        }
        let link = self.consume_link().await?;
        Ok(Box::new(AmqpConsumer::start(
            link,
            Arc::clone(&self.inner.topology),
            options,
            Arc::clone(&self.inner.context),
            self.inner.cancel.clone(),
            &self.inner.tracker,
        )))
    }

    async fn close(&self) -> Result<(), BrokerError> {
        self.inner.cancel.cancel();
        self.inner.tracker.close();
        if tokio::time::timeout(CLOSE_GRACE, self.inner.tracker.wait())
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
}
