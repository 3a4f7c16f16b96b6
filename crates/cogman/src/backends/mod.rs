//! Chooses and opens the backends a [`Config`] names — the only place that knows which mode
//! cogman runs in. RabbitMQ when `amqp.uri` is set, else the embedded SQLite queue; Redis
//! and/or PostgreSQL for the task log when set (both: the tiered log), else the SQLite file.
//!
//! One file per backend holds its config section and its `open`: [`sqlite`], [`amqp`],
//! [`redis`], [`postgres`]. Adding a backend is its crate, its file here, its section in
//! [`Config`] and an arm in [`Backends::open`].

pub mod amqp;
pub mod postgres;
pub mod redis;
pub mod sqlite;

use std::sync::Arc;

use cogman_core::{Broker, TaskLog};
use cogman_sqlite::SqliteStore;
use cogman_tiered::TieredLog;

use crate::client::{Client, ClientOptions};
use crate::config::Config;
use crate::error::Error;
use crate::retention::{Retention, RetentionOptions};
use crate::scheduler::{Scheduler, SchedulerOptions};
use crate::telemetry::Tracer;
use crate::worker::{Worker, WorkerOptions};

/// The broker and task log chosen by a config.
#[derive(Debug, Clone)]
pub struct Backends {
    /// Where tasks wait.
    pub broker: Arc<dyn Broker>,
    /// Where their lives are recorded.
    pub log: Arc<dyn TaskLog>,
    /// The spans' exporter (`otlp_endpoint`), shared by the clients and workers made here.
    pub tracer: Tracer,
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

/// The SQLite file, opened the first time the broker or the log needs it, then shared.
struct Embedded<'a> {
    config: &'a Config,
    store: Option<SqliteStore>,
}

impl Embedded<'_> {
    async fn store(&mut self) -> Result<SqliteStore, Error> {
        if let Some(store) = &self.store {
            return Ok(store.clone());
        }
        let store = sqlite::open(self.config).await?;
        self.store = Some(store.clone());
        Ok(store)
    }
}

impl Backends {
    /// Validates `config` and opens what it names.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad config; [`Error::Backend`] when a backend cannot be opened.
    pub async fn open(config: &Config) -> Result<Backends, Error> {
        config.validate()?;
        let mut embedded = Embedded {
            config,
            store: None,
        };
        let broker: Arc<dyn Broker> = match config.amqp.uri.as_deref() {
            Some(uri) => Arc::new(amqp::open(uri, config).await?),
            None => Arc::new(embedded.store().await?),
        };
        let log: Arc<dyn TaskLog> =
            match (config.redis.uri.as_deref(), config.postgres.uri.as_deref()) {
                (Some(hot), Some(durable)) => {
                    let hot = Arc::new(redis::open(hot, config).await?);
                    let durable = Arc::new(postgres::open(durable, config).await?);
                    Arc::new(TieredLog::new(hot, durable))
                }
                (Some(uri), None) => Arc::new(redis::open(uri, config).await?),
                (None, Some(uri)) => Arc::new(postgres::open(uri, config).await?),
                (None, None) => Arc::new(embedded.store().await?),
            };
        let tracer = match &config.otlp_endpoint {
            Some(endpoint) => Tracer::otlp(endpoint, "cogman")
                .map_err(|error| crate::config::fail("otlp_endpoint", error.to_string()))?,
            None => Tracer::disabled(),
        };
        Ok(Backends {
            broker,
            log,
            tracer,
        })
    }

    /// A client over these backends; closing it leaves the broker open.
    pub fn client(&self, config: &Config) -> Client {
        Client::new(
            Arc::clone(&self.broker),
            Arc::clone(&self.log),
            self.client_options(config),
        )
    }

    /// A client that owns these backends: [`Client::close`] closes the broker too.
    pub(crate) fn own_client(&self, config: &Config) -> Client {
        Client::owning(
            Arc::clone(&self.broker),
            Arc::clone(&self.log),
            self.client_options(config),
        )
    }

    /// The client settings of `config`, with this tracer.
    fn client_options(&self, config: &Config) -> ClientOptions {
        ClientOptions {
            limits: config.limits(),
            request_timeout: config.request_timeout,
            send_buffer: config.send_buffer,
            tracer: self.tracer.clone(),
            ..ClientOptions::default()
        }
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
            self.own_client(config),
            worker_options(config),
        )
    }

    /// The scheduler of periodic tasks of `config`, sending through `client`, not started
    /// yet: for a process that serves without a worker (a worker runs its own).
    pub fn scheduler(&self, config: &Config, client: Client) -> Scheduler {
        let holder = format!(
            "serve-{}-{}",
            std::process::id(),
            cogman_core::TaskId::new().as_uuid().simple()
        );
        Scheduler::new(client, holder, scheduler_options(config))
    }

    /// The periodic purge of this task log with the TTL and interval of `config`, not started
    /// yet: for a process that serves without a worker (a worker runs its own).
    pub fn retention(&self, config: &Config) -> Retention {
        Retention::new(Arc::clone(&self.log), retention_options(config))
    }
}

/// The scheduler settings of `config`: its lease and its `[[schedule]]` tables (validated
/// with the config; one that fails here was never valid and is left out).
fn scheduler_options(config: &Config) -> SchedulerOptions {
    SchedulerOptions {
        lease: config.scheduler_lease,
        schedules: config.scheduled().unwrap_or_default(),
    }
}

/// The retention of `config`'s task log: PostgreSQL (alone or behind Redis) keeps finished
/// tasks for `postgres.ttl`, the SQLite file for `sqlite.ttl`, Redis alone for `redis.ttl` (its
/// records also expire by themselves; the purge drops the index entries they leave).
fn retention_options(config: &Config) -> RetentionOptions {
    let ttl = match (&config.postgres.uri, &config.redis.uri) {
        (Some(_), _) => config.postgres.ttl,
        (None, Some(_)) => config.redis.ttl,
        (None, None) => config.sqlite.ttl,
    };
    RetentionOptions {
        ttl,
        every: config.purge_interval,
    }
}

/// The worker settings of `config`.
fn worker_options(config: &Config) -> WorkerOptions {
    WorkerOptions {
        concurrency: config.concurrency,
        queues: config.queues.clone(),
        prefetch: config.prefetch,
        lease: config.lease,
        shutdown_grace: config.shutdown_grace,
        task_timeout: config.task_timeout,
        kill_grace: config.kill_grace,
        max_result_bytes: config.max_result_bytes,
        handler_wait: config.handler_wait,
        backoff: config.backoff(),
        retention: Some(retention_options(config)),
        scheduler: Some(scheduler_options(config)),
    }
}
