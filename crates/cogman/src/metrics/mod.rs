//! Prometheus metrics shared by every cogman process: the text-format writer ([`encode`],
//! [`CONTENT_TYPE`]), the bounded task-name label ([`NameLabels`]) and the histogram buckets
//! both the API (`cogman serve`, cluster-wide) and a worker use, plus the worker's own
//! registry ([`WorkerMetrics`], what [`Worker::metrics`](crate::Worker::metrics) returns)
//! and a small HTTP server for it ([`MetricsServer`], what `cogman worker --metrics` runs).
//!
//! - `labels`: the task-name label with a bound on distinct values, and bucket layouts.
//! - `worker`: [`WorkerMetrics`] — attempts, durations, in flight, queue latency.
//! - `process`: basics of the process (memory, threads, open files) read from `/proc`.
//! - `server`: [`MetricsServer`] — `GET /metrics` over HTTP/1.1.

mod labels;
mod process;
mod server;
mod worker;

pub use labels::{MAX_TASK_NAMES, NameLabels, OTHER_NAMES, duration_histogram, latency_histogram};
pub use prometheus_client;
pub use server::{MetricsServer, MetricsServerError};
pub use worker::WorkerMetrics;

use prometheus_client::registry::Registry;

/// The content type of a metrics response (OpenMetrics text, which Prometheus scrapes).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Writes every metric of `registry` in the OpenMetrics text format, label values escaped
/// (`\\`, `"` and newlines), ending with `# EOF`.
///
/// # Errors
/// Only when a metric fails to encode itself (none of cogman's do).
pub fn encode(registry: &Registry) -> Result<String, std::fmt::Error> {
    let mut out = String::new();
    prometheus_client::encoding::text::encode(&mut out, registry)?;
    Ok(out)
}
