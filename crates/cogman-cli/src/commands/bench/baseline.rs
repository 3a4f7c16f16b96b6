//! The raw baseline `cogman bench` compares against: the strongest plain client of the
//! configured broker doing a task's work the way cogman does it (RabbitMQ: [`AmqpBaseline`];
//! embedded: [`SqliteBaseline`]), measured in the same three phases as cogman — fill, drain of
//! the pre-filled queue, then producer and consumer at once — with the CPU split of the last.

use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use cogman::Config;

use super::amqp_baseline::{AmqpBaseline, sample_task};
use super::cpu::{Sample, Server};
use super::figures::{SideFigures, rate};
use super::sqlite_baseline::SqliteBaseline;
use super::{BenchShape, SEND_CONCURRENCY};

/// A plain queue client the bench can time.
pub(super) trait RawQueue {
    /// One line saying exactly what the baseline does.
    fn describe(&self) -> String;
    /// Enqueues `n` messages with no consumer.
    async fn fill(&mut self, n: usize) -> Result<Duration>;
    /// Consumes `n` messages already in the queue.
    async fn drain(&mut self, n: usize) -> Result<Duration>;
    /// Enqueues and consumes `n` messages with producer and consumer at once.
    async fn end_to_end(&mut self, n: usize) -> Result<Duration>;
    /// Removes what the baseline created.
    async fn close(self);
}

/// The baseline of the configured broker.
pub(super) enum Baseline {
    Amqp(Box<AmqpBaseline>),
    Sqlite(SqliteBaseline),
}

impl Baseline {
    /// Opens the baseline for `config`'s broker, shaped like the bench's cogman run: a
    /// consumer per worker with the workers' prefetch, or (SQLite) batches as large as the
    /// sends and worker slots cogman has in flight. SQLite's file goes in `dir`.
    pub(super) async fn open(config: &Config, shape: &BenchShape, dir: &Path) -> Result<Baseline> {
        let sample = sample_task("baseline");
        let slots = shape.workers * shape.concurrency as usize;
        Ok(match &config.amqp.uri {
            Some(uri) => {
                // A cogman worker holds at least as many deliveries as it has slots.
                let per_worker = u16::try_from(shape.concurrency).unwrap_or(u16::MAX);
                let prefetch = config.prefetch.max(per_worker);
                let prefix = config.amqp.queue_prefix.clone();
                Baseline::Amqp(Box::new(
                    AmqpBaseline::open(uri, &prefix, &sample, shape.workers, prefetch).await?,
                ))
            }
            None => Baseline::Sqlite(SqliteBaseline::open(
                &dir.join("baseline.db"),
                &sample,
                SEND_CONCURRENCY,
                slots,
            )?),
        })
    }

    pub(super) fn describe(&self) -> String {
        match self {
            Baseline::Amqp(raw) => raw.describe(),
            Baseline::Sqlite(raw) => raw.describe(),
        }
    }

    /// One round: fill, drain, end to end, with the CPU split of the end-to-end phase.
    pub(super) async fn round(&mut self, n: usize, servers: &[Server]) -> Result<SideFigures> {
        match self {
            Baseline::Amqp(raw) => measure(raw.as_mut(), n, servers).await,
            Baseline::Sqlite(raw) => measure(raw, n, servers).await,
        }
    }

    pub(super) async fn close(self) {
        match self {
            Baseline::Amqp(raw) => raw.close().await,
            Baseline::Sqlite(raw) => raw.close().await,
        }
    }
}

async fn measure(raw: &mut impl RawQueue, n: usize, servers: &[Server]) -> Result<SideFigures> {
    let fill = raw.fill(n).await?;
    let drain = raw.drain(n).await?;
    let before = Sample::take(servers);
    let end_to_end = raw.end_to_end(n).await?;
    let cpu = Sample::take(servers).per_task_since(&before, n);
    Ok(SideFigures {
        enqueue_per_s: rate(n, fill),
        drain_per_s: rate(n, drain),
        end_to_end_per_s: rate(n, end_to_end),
        cpu_us_per_task: cpu,
    })
}
