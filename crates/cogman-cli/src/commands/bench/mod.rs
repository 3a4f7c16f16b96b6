//! `cogman bench`: measures cogman on the configured backends against an honest raw baseline
//! of the same broker ([`baseline`]: the strongest plain client doing the same work the same
//! way), in `--rounds` rounds that each run the baseline and then cogman, and reports medians:
//! enqueue, drain of a pre-filled queue and end-to-end rates, the CPU microseconds per task of
//! this process and of the local servers (RabbitMQ, Redis, PostgreSQL) for both sides, the
//! task log alone, latencies and peak memory. The machine is usually shared and noisy: compare
//! ratios measured in the same run.

mod amqp_baseline;
mod baseline;
mod cleanup;
mod cogman_side;
mod cpu;
mod figures;
mod output;
mod sqlite_baseline;

use anyhow::{Context, Result, bail};
use cogman::Config;
use cogman::backends::Backends;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::BenchArgs;
use baseline::Baseline;
use cogman_side::CogmanBench;
use output::Report;

/// Sends in flight at once while enqueueing.
const SEND_CONCURRENCY: usize = 64;

/// The load both sides carry.
#[derive(Debug, Clone)]
pub(super) struct BenchShape {
    /// Tasks per phase.
    pub(super) tasks: usize,
    /// Worker instances (the baseline runs as many consumers).
    pub(super) workers: usize,
    /// Tasks each worker runs at once.
    pub(super) concurrency: u32,
}

/// What the configured backends are called in the report.
fn mode(config: &Config) -> String {
    if config.amqp.uri.is_none() {
        return "embedded (SQLite)".into();
    }
    let log = match (&config.redis.uri, &config.postgres.uri) {
        (None, None) => "log in SQLite",
        (Some(_), None) => "log in Redis",
        (None, Some(_)) => "log in PostgreSQL",
        (Some(_), Some(_)) => "log in Redis, then PostgreSQL",
    };
    format!("RabbitMQ, {log}")
}

/// The local servers whose CPU the report splits out: those `config` uses.
fn wanted_servers(config: &Config) -> Vec<cpu::Wanted> {
    [
        (&config.amqp.uri, "RabbitMQ", "beam.smp", 5672, false),
        (&config.redis.uri, "Redis", "redis-server", 6379, false),
        // PostgreSQL runs a process per connection, children of the postmaster.
        (&config.postgres.uri, "PostgreSQL", "postgres", 5432, true),
    ]
    .into_iter()
    .filter_map(|(uri, label, process, default_port, with_children)| {
        Some(cpu::Wanted {
            label,
            process,
            port: cpu::uri_port(uri.as_deref()?, default_port),
            with_children,
        })
    })
    .collect()
}

pub(crate) async fn run(mut config: Config, args: BenchArgs) -> Result<()> {
    if args.tasks == 0 || args.workers == 0 || args.rounds == 0 {
        bail!("--tasks, --workers and --rounds must be at least 1");
    }
    let shape = BenchShape {
        tasks: args.tasks,
        workers: args.workers,
        concurrency: args.concurrency,
    };
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    config.sqlite.path = dir.path().join("bench.db");
    config.concurrency = args.concurrency;
    // Queues, Redis keys and a PostgreSQL schema of its own: the run never mixes with real
    // tasks or with an earlier run (its tasks are purged after each round).
    let name = format!("bench{}", std::process::id());
    config.amqp.queue_prefix = format!("{name}_");
    config.redis.namespace.clone_from(&name);
    config.postgres.schema.clone_from(&name);
    config.validate()?;
    let servers = cpu::discover(&wanted_servers(&config));
    let backends = Backends::open(&config).await?;
    let client = backends.client(&config);
    let mut baseline = Baseline::open(&config, &shape, dir.path()).await?;
    let bar = ProgressBar::new((args.tasks * 2) as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let cogman = CogmanBench {
        config: &config,
        backends: &backends,
        client: &client,
        shape: &shape,
        servers: &servers,
    };
    let mut report = Report::new(mode(&config), &shape, baseline.describe());
    for round in 0..args.rounds {
        bar.set_message(format!("round {}: baseline", round + 1));
        let raw = baseline.round(args.tasks, &servers).await?;
        let ours = cogman.round(round, &bar).await?;
        report.add_round(ours, raw);
    }
    bar.finish_and_clear();
    baseline.close().await;
    client.close().await;
    if let Err(error) = backends.broker.close().await {
        eprintln!("could not close the broker: {error}");
    }
    if let Err(error) = cleanup::delete_amqp_topology(&config).await {
        eprintln!("could not delete the benchmark's queues: {error:#}");
    }
    report.print(args.json)
}
