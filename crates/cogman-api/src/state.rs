//! [`ApiState`]: what every request handler shares — the cogman client (writes), its
//! [`Inspector`] (reads), an optional worker running in the same process, the purge of finished
//! tasks this process runs, the options, the metric registry and the live feed. Cheap to clone.

use std::sync::Arc;

use cogman::{Client, Inspector, Retention, Worker};

use crate::events::EventHub;
use crate::metrics::{DurationObserver, Metrics};
use crate::options::ApiOptions;

/// The state behind the router.
#[derive(Debug, Clone)]
pub struct ApiState {
    client: Client,
    inspector: Inspector,
    worker: Option<Worker>,
    retention: Option<Retention>,
    options: Arc<ApiOptions>,
    metrics: Arc<Metrics>,
    events: EventHub,
}

impl ApiState {
    /// An API over `client` (its task log and broker answer every request).
    pub fn new(client: Client, options: ApiOptions) -> Self {
        ApiState {
            inspector: client.inspector(),
            client,
            worker: None,
            retention: None,
            events: EventHub::new(options.events_interval),
            options: Arc::new(options),
            metrics: Arc::new(Metrics::new()),
        }
    }

    /// Adds a worker running in this process: its settled attempts feed the task duration
    /// histogram of `/metrics`, and its purge (if any) the purged-tasks counter. The worker is
    /// not started or stopped by the API.
    #[must_use]
    pub fn with_worker(mut self, worker: Worker) -> Self {
        worker.observe(Arc::new(DurationObserver(Arc::clone(&self.metrics))));
        if let Some(retention) = worker.retention() {
            self.retention = Some(retention.clone());
        }
        self.worker = Some(worker);
        self
    }

    /// Adds the purge this process runs without a worker: `/metrics` counts what it deleted.
    /// The purge is not started or stopped by the API.
    #[must_use]
    pub fn with_retention(mut self, retention: Retention) -> Self {
        self.retention = Some(retention);
        self
    }

    /// The purge of finished tasks this process runs, if the API was told of one.
    pub fn retention(&self) -> Option<&Retention> {
        self.retention.as_ref()
    }

    /// The client requests act through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// What read requests read through.
    pub fn inspector(&self) -> &Inspector {
        &self.inspector
    }

    /// The in-process worker, if any.
    pub fn worker(&self) -> Option<&Worker> {
        self.worker.as_ref()
    }

    /// The options.
    pub fn options(&self) -> &ApiOptions {
        &self.options
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The live feed of `GET /events`.
    pub(crate) fn events(&self) -> &EventHub {
        &self.events
    }
}
