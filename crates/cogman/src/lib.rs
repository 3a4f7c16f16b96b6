//! cogman: a distributed task runner. Applications send named tasks with a byte payload;
//! workers run the registered handler; every task's life is recorded and can be inspected,
//! retried and cancelled.
//!
//! With no configuration cogman runs **embedded** on one SQLite file (queue and log); with an
//! `amqp.uri` it uses RabbitMQ, and Redis and/or PostgreSQL for the task log.
//!
//! ```no_run
//! use cogman::{Config, TaskSpec, Priority, TaskError, handler_fn};
//! # async fn demo() -> Result<(), cogman::Error> {
//! let cogman = cogman::start_background(Config::default()).await?;
//! cogman.register("greet", handler_fn(|_ctx, payload: Vec<u8>| async move {
//!     Ok::<_, TaskError>(format!("hello {}", String::from_utf8_lossy(&payload)))
//! }))?;
//! let receipt = cogman.send_task(TaskSpec::new("greet", b"world".to_vec()).priority(Priority::High), None).await?;
//! println!("sent {}", receipt.id);
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`config`]: [`Config`] with the seed's defaults, validated; its backend sections.
//! - [`client`]: [`Client`] — send, get, retry, cancel; relay of tasks accepted while the broker
//!   was unreachable.
//! - [`worker`]: [`Worker`] — consume, run handlers, settle.
//! - [`workflow`]: chains, groups and chords ([`Client::send_chain`], [`Client::send_group`],
//!   [`Client::send_chord`]).
//! - [`inspector`]: [`Inspector`] — the read side: task details, lists, counts, queues,
//!   workers; what the API, the metrics and the CLI read through.
//! - [`metrics`]: Prometheus metrics — [`metrics::WorkerMetrics`] of a worker
//!   ([`Worker::metrics`]), [`metrics::MetricsServer`] to serve them, and the text writer and
//!   label bound the API's cluster-wide metrics use too.
//! - [`registry`]: task name → handler.
//! - [`backends`]: which broker and log a config means; one file per backend (section + open),
//!   the tiered log (`cogman-tiered`) composed of the Redis and PostgreSQL ones.
//! - [`retention`]: [`Retention`] — the periodic purge of finished tasks older than the TTL,
//!   run by every started worker (and `cogman serve`).
//! - [`telemetry`]: [`Tracer`] — the spans of a task's send, publish, consume, run and
//!   record, exported over OTLP/HTTP when `otlp_endpoint` is set.
//! - [`scheduler`]: [`Scheduler`] — periodic tasks: one leader (a lease in the log) sends
//!   each slot once (a claim per slot); managing schedules through the client and inspector.
//! - this file: the seed's facade — [`start_background`], [`Cogman::send_task`],
//!   [`Cogman::register`].

pub mod backends;
pub mod client;
pub mod config;
pub mod dead_letters;
pub mod error;
pub mod inspector;
pub mod metrics;
pub mod queue_pauses;
pub mod registry;
pub mod retention;
pub mod scheduler;
pub mod task_limits;
pub mod telemetry;
pub mod worker;
pub mod workflow;

pub use client::{Client, ClientOptions, SendReceipt, SendStatus};
pub use cogman_core::*;
pub use config::{Config, ConfigError};
pub use dead_letters::{DeadLetterCollector, collect_dead_letters};
pub use error::Error;
pub use inspector::{Inspector, TaskDetails};
pub use queue_pauses::{NamedQueue, PAUSE_CHECK};
pub use registry::Registry;
pub use retention::{Retention, RetentionOptions};
pub use scheduler::{ScheduleConfig, ScheduleView, Scheduler, SchedulerOptions};
pub use telemetry::Tracer;
pub use worker::{LIMIT_CHECK, StatsSnapshot, TaskObserver, Worker, WorkerOptions};
pub use workflow::{
    ChainReceipt, ChordReceipt, ChordResult, GroupReceipt, GroupStatus, WorkflowKind,
};

/// A client and a worker running together in this process: what [`start_background`]
/// returns. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Cogman {
    client: Client,
    worker: Worker,
}

/// Starts a client and a worker in the background (the seed's `StartBackground`).
///
/// # Errors
/// [`Error::Config`] for a bad config; [`Error::Backend`] when a backend cannot be opened.
pub async fn start_background(config: Config) -> Result<Cogman, Error> {
    let backends = backends::Backends::open(&config).await?;
    let client = backends.client(&config);
    let worker = backends.worker_with(&config, client.clone());
    worker.start().await?;
    Ok(Cogman { client, worker })
}

impl Cogman {
    /// Registers `handler` for `name` on the worker.
    ///
    /// # Errors
    /// [`Error::DuplicateHandler`] when the name is taken.
    pub fn register(&self, name: &str, handler: impl Handler) -> Result<(), Error> {
        self.worker.register(name, handler)
    }

    /// Sends a task (the seed's `SendTask(task, handler)`): with `Some(handler)` the handler is
    /// registered first, which fails if the name already has one; with `None` the name must
    /// already be registered.
    ///
    /// # Errors
    /// [`Error::DuplicateHandler`], [`Error::UnknownTask`], or any [`Client::send_task`] error.
    pub async fn send_task(
        &self,
        spec: TaskSpec,
        handler: Option<std::sync::Arc<dyn Handler>>,
    ) -> Result<SendReceipt, Error> {
        self.client.validate(&spec)?;
        match handler {
            Some(handler) => self.worker.registry().register(&spec.name, handler)?,
            None if !self.worker.registry().contains(&spec.name) => {
                return Err(Error::UnknownTask(spec.name));
            }
            None => {}
        }
        self.client.send_task(spec).await
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The worker.
    pub fn worker(&self) -> &Worker {
        &self.worker
    }

    /// Stops the worker gracefully, then the client's relay, then closes the broker.
    pub async fn stop(&self) {
        self.worker.stop().await;
        self.client.close().await;
        if let Err(error) = self.client.broker().close().await {
            tracing::warn!(%error, "closing the broker");
        }
    }
}
