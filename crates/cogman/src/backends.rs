//! Chooses and opens the backends a [`Config`] names — the only place that knows which mode
//! cogman runs in. RabbitMQ when `amqp_uri` is set, else the embedded SQLite queue; Redis
//! and/or PostgreSQL for the task log when set, else the SQLite file.

use std::sync::Arc;

use cogman_amqp::{AmqpBroker, AmqpConfig};
use cogman_core::{Broker, TaskLog};
use cogman_postgres::{PostgresConfig, PostgresLog};
use cogman_redis::{RedisConfig, RedisLog};
use cogman_sqlite::{SqliteOptions, SqliteStore};
use cogman_tiered::TieredLog;

use crate::client::{Client, ClientOptions};
use crate::config::Config;
use crate::error::Error;
use crate::worker::{Worker, WorkerOptions};

/// The broker and task log chosen by a config.
#[derive(Debug, Clone)]
pub struct Backends {
    /// Where tasks wait.
    pub broker: Arc<dyn Broker>,
    /// Where their lives are recorded.
    pub log: Arc<dyn TaskLog>,
}

fn backend_error(
    backend: &'static str,
    error: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::Backend {
        backend,
        source: Box::new(error),
    }
}

impl Backends {
    /// Validates `config` and opens what it names.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad config; [`Error::Backend`] when a backend cannot be opened.
    pub async fn open(config: &Config) -> Result<Backends, Error> {
        config.validate()?;
        let needs_sqlite = config.amqp_uri.is_none()
            || (config.redis_uri.is_none() && config.postgres_uri.is_none());
        let sqlite = if needs_sqlite {
            let mut options = SqliteOptions::new(config.db.clone());
            options.max_deliveries = config.max_deliveries;
            let store = tokio::task::spawn_blocking(move || SqliteStore::open(options))
                .await
                .map_err(|e| backend_error("sqlite", e))?
                .map_err(|e| backend_error("sqlite", e))?;
            Some(store)
        } else {
            None
        };
        let broker: Arc<dyn Broker> = match (&config.amqp_uri, &sqlite) {
            (Some(uri), _) => {
                let mut amqp = AmqpConfig::new(uri.clone());
                amqp.high_queue_count = config.high_priority_queue_count;
                amqp.low_queue_count = config.low_priority_queue_count;
                amqp.queue_prefix.clone_from(&config.queue_prefix);
                amqp.connection_timeout = config.connection_timeout;
                amqp.confirm_timeout = config.request_timeout;
                amqp.max_payload_bytes = config.max_payload_bytes;
                amqp.max_deliveries = config.max_deliveries;
                Arc::new(
                    AmqpBroker::connect(amqp)
                        .await
                        .map_err(|e| backend_error("rabbitmq", e))?,
                )
            }
            (None, Some(store)) => Arc::new(store.clone()),
            (None, None) => unreachable!("sqlite is opened whenever amqp_uri is unset"),
        };
        let redis = match &config.redis_uri {
            Some(uri) => {
                let mut redis = RedisConfig::new(uri.clone());
                redis.ttl = config.redis_ttl;
                redis.namespace.clone_from(&config.redis_namespace);
                Some(Arc::new(
                    RedisLog::connect(redis)
                        .await
                        .map_err(|e| backend_error("redis", e))?,
                ) as Arc<dyn TaskLog>)
            }
            None => None,
        };
        let postgres = match &config.postgres_uri {
            Some(uri) => {
                let mut postgres = PostgresConfig::new(uri.clone());
                postgres.ttl = config.durable_ttl;
                postgres.schema.clone_from(&config.postgres_schema);
                // A log write may wait this long for a connection (the seed's RequestTimeout).
                postgres.acquire_timeout = config.request_timeout;
                Some(Arc::new(
                    PostgresLog::connect(postgres)
                        .await
                        .map_err(|e| backend_error("postgres", e))?,
                ) as Arc<dyn TaskLog>)
            }
            None => None,
        };
        let log: Arc<dyn TaskLog> = match (redis, postgres, sqlite) {
            (Some(hot), Some(durable), _) => Arc::new(TieredLog::new(hot, durable)),
            (Some(log), None, _) | (None, Some(log), _) => log,
            (None, None, Some(store)) => Arc::new(store),
            (None, None, None) => unreachable!("sqlite is opened whenever no log URI is set"),
        };
        Ok(Backends { broker, log })
    }

    /// A client over these backends.
    pub fn client(&self, config: &Config) -> Client {
        let options = ClientOptions {
            limits: config.limits(),
            request_timeout: config.request_timeout,
            send_buffer: config.send_buffer,
            ..ClientOptions::default()
        };
        Client::new(Arc::clone(&self.broker), Arc::clone(&self.log), options)
    }

    /// A worker over these backends, sending retries through `client`.
    pub fn worker_with(&self, config: &Config, client: Client) -> Worker {
        Worker::new(
            Arc::clone(&self.broker),
            Arc::clone(&self.log),
            client,
            worker_options(config),
        )
    }

    /// A worker over these backends with a client of its own, which its `stop` closes.
    pub fn worker(&self, config: &Config) -> Worker {
        Worker::with_own_client(
            Arc::clone(&self.broker),
            Arc::clone(&self.log),
            self.client(config),
            worker_options(config),
        )
    }
}

/// The worker settings of `config`.
fn worker_options(config: &Config) -> WorkerOptions {
    WorkerOptions {
        concurrency: config.concurrency,
        prefetch: config.prefetch,
        lease: config.lease,
        shutdown_grace: config.shutdown_grace,
        task_timeout: config.task_timeout,
        backoff: config.backoff(),
    }
}
