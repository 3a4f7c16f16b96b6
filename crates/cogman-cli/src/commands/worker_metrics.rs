//! `cogman worker --metrics ADDR` (or the config's `metrics`, which the worker inside
//! `cogman serve` follows too): serves the worker's
//! Prometheus metrics ([`cogman::metrics::WorkerMetrics`]) at `http://ADDR/metrics` and says
//! where on stderr.

use std::net::SocketAddr;

use anyhow::{Context, Result};
use cogman::Worker;
use cogman::metrics::MetricsServer;

/// Starts the metrics server when `addr` is set.
pub(crate) async fn serve(
    addr: Option<SocketAddr>,
    worker: &Worker,
) -> Result<Option<MetricsServer>> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    let server = MetricsServer::bind(addr, worker.metrics())
        .await
        .context("starting the metrics server (--metrics)")?;
    eprintln!("metrics at http://{}/metrics", server.local_addr());
    Ok(Some(server))
}
