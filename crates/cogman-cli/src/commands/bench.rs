//! `cogman bench`: measures cogman on the configured backends — enqueue rate, drain rate,
//! end-to-end rate with latency percentiles, the task log alone (the four status writes of a
//! task's life with no broker), peak memory — and, in the same run, a raw baseline of the same
//! broker doing the same row/message work with no cogman logic. Figures are reported as
//! ratios of the baseline because the machines are shared and noisy.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use cogman::backends::Backends;
use cogman::{
    Client, Config, StateChange, Task, TaskError, TaskLog, TaskSpec, TaskState, Worker, handler_fn,
};
use futures::{StreamExt, stream};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::report;
use crate::cli::BenchArgs;
use crate::table;

/// Sends in flight at once while enqueueing.
const SEND_CONCURRENCY: usize = 64;
/// Tasks timed one by one for the no-backlog latency.
const IDLE_SAMPLES: usize = 200;

#[derive(Debug, Serialize)]
struct BenchReport {
    mode: String,
    tasks: usize,
    workers: usize,
    concurrency: u32,
    enqueue_per_s: f64,
    drain_per_s: f64,
    end_to_end_per_s: f64,
    log_alone_per_s: f64,
    loaded_p50_ms: f64,
    loaded_p99_ms: f64,
    idle_p50_ms: f64,
    idle_p99_ms: f64,
    peak_memory_mib: f64,
    baseline_per_s: f64,
    ratio_end_to_end: f64,
    ratio_drain: f64,
    ratio_log_alone: f64,
}

async fn send_all(client: &Client, n: usize, tag: &str) -> Result<Duration> {
    let started = Instant::now();
    let client = Arc::new(client.clone());
    let failures = stream::iter(0..n)
        .map(|i| {
            let client = Arc::clone(&client);
            let spec = TaskSpec::new("bench.noop", Vec::new()).primary_key(format!("{tag}-{i}"));
            async move { client.send_task(spec).await }
        })
        .buffer_unordered(SEND_CONCURRENCY)
        .filter(|r| std::future::ready(r.is_err()))
        .count()
        .await;
    if failures > 0 {
        bail!("{failures} sends failed");
    }
    Ok(started.elapsed())
}

async fn wait_succeeded(workers: &[Worker], target: u64, bar: &ProgressBar) -> Result<Duration> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(600);
    loop {
        let done: u64 = workers.iter().map(|w| w.stats().succeeded).sum();
        bar.set_position(done);
        if done >= target {
            return Ok(started.elapsed());
        }
        if Instant::now() > deadline {
            bail!("only {done} of {target} tasks finished in 10 minutes");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Sends `n` tasks one at a time, each after the previous finished, and returns the
/// send-to-finish time of each (latency with no backlog).
async fn idle_latencies(client: &Client, workers: &[Worker], n: usize) -> Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(n);
    for i in 0..n {
        let before: u64 = workers.iter().map(|w| w.stats().succeeded).sum();
        let started = Instant::now();
        client
            .send_task(TaskSpec::new("bench.noop", Vec::new()).primary_key(format!("idle-{i}")))
            .await?;
        let deadline = started + Duration::from_secs(30);
        while workers.iter().map(|w| w.stats().succeeded).sum::<u64>() <= before {
            if Instant::now() > deadline {
                bail!("a task took over 30 s");
            }
            tokio::task::yield_now().await;
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        latencies.push(started.elapsed());
    }
    latencies.sort();
    Ok(latencies)
}

/// Runs `n` task lives through the log alone, `in_flight` at once: create (initiated), then
/// queued and in progress (as the client and worker write them: `record_transient`) and
/// success, each write awaited as the client and worker await them, then a flush.
/// The rate says whether the log could keep up with the broker if it had the machine to itself.
async fn log_alone(log: &Arc<dyn TaskLog>, n: usize, in_flight: usize) -> Result<Duration> {
    let started = Instant::now();
    let failures = stream::iter(0..n)
        .map(|i| {
            let log = Arc::clone(log);
            async move {
                let spec = TaskSpec::new("bench.log", Vec::new()).primary_key(format!("log-{i}"));
                let task = Task::from_spec(spec, Utc::now());
                log.create(&task).await?;
                for state in [TaskState::Queued, TaskState::InProgress] {
                    log.record_transient(&StateChange::new(task.id, state))
                        .await?;
                }
                log.record(&StateChange::new(task.id, TaskState::Success))
                    .await?;
                Ok::<_, cogman::TaskLogError>(())
            }
        })
        .buffer_unordered(in_flight.max(1))
        .filter(|r| std::future::ready(r.is_err()))
        .count()
        .await;
    if failures > 0 {
        bail!("{failures} task lives failed in the log");
    }
    log.flush().await?;
    Ok(started.elapsed())
}

fn rate(n: usize, elapsed: Duration) -> f64 {
    n as f64 / elapsed.as_secs_f64().max(1e-9)
}

/// The raw baseline of the configured broker: tasks per second.
async fn baseline(config: &Config, dir: &std::path::Path, n: usize) -> Result<f64> {
    Ok(match &config.amqp.uri {
        Some(uri) => {
            // The prefetch the workers use (at least their concurrency), for a fair comparison.
            let slots = u16::try_from(config.concurrency).unwrap_or(u16::MAX);
            let prefetch = config.prefetch.max(slots);
            let report = cogman_amqp::baseline::raw_roundtrip(uri, n, prefetch).await?;
            rate(n, report.publish_elapsed + report.consume_elapsed)
        }
        None => {
            let path = dir.join("baseline.db");
            let report = tokio::task::spawn_blocking(move || {
                cogman_sqlite::baseline::raw_roundtrip(&path, n)
            })
            .await??;
            rate(n, report.enqueue + report.process)
        }
    })
}

pub(crate) async fn run(mut config: Config, args: BenchArgs) -> Result<()> {
    if args.tasks == 0 || args.workers == 0 {
        bail!("--tasks and --workers must be at least 1");
    }
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    config.sqlite.path = dir.path().join("bench.db");
    config.concurrency = args.concurrency;
    // Queues, Redis keys and a PostgreSQL schema of its own: the run never mixes with real
    // tasks or with an earlier run (its tasks are purged at the end).
    let name = format!("bench{}", std::process::id());
    config.amqp.queue_prefix = format!("{name}_");
    config.redis.namespace.clone_from(&name);
    config.postgres.schema.clone_from(&name);
    config.validate()?;
    let mode = if config.is_distributed() {
        "rabbitmq"
    } else {
        "embedded sqlite"
    }
    .to_owned();
    let backends = Backends::open(&config).await?;
    let client = backends.client(&config);
    let workers: Vec<Worker> = (0..args.workers)
        .map(|_| backends.worker_with(&config, client.clone()))
        .collect();
    for worker in &workers {
        worker.register(
            "bench.noop",
            handler_fn(|_ctx, _payload| async { Ok::<_, TaskError>(()) }),
        )?;
    }
    let bar = ProgressBar::new((args.tasks * 2) as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("enqueue");
    let enqueue = send_all(&client, args.tasks, "fill").await?;
    bar.set_message("drain");
    for worker in &workers {
        worker.start().await?;
    }
    let drain = wait_succeeded(&workers, args.tasks as u64, &bar).await?;
    bar.set_message("end to end");
    let since = Utc::now();
    let started = Instant::now();
    let sending = send_all(&client, args.tasks, "e2e");
    let finishing = wait_succeeded(&workers, (args.tasks * 2) as u64, &bar);
    let (sent, finished) = tokio::join!(sending, finishing);
    sent?;
    finished?;
    let end_to_end = started.elapsed();
    let summary = report::read(&client.inspector(), since).await?;
    bar.set_message("latency with no backlog");
    let idle = idle_latencies(&client, &workers, IDLE_SAMPLES).await?;
    for worker in &workers {
        worker.stop().await;
    }
    client.close().await;
    if let Err(error) = backends.broker.close().await {
        eprintln!("could not close the broker: {error}");
    }
    bar.set_message("task log alone");
    // As many lives at once as tasks in flight end to end: sends plus worker slots.
    let in_flight = SEND_CONCURRENCY + args.workers * args.concurrency as usize;
    let log_only = log_alone(&backends.log, args.tasks, in_flight).await?;
    bar.set_message("baseline");
    if let Err(error) = backends.log.purge_before(Utc::now()).await {
        eprintln!("could not purge the benchmark's tasks: {error}");
    }
    let baseline_rate = baseline(&config, dir.path(), args.tasks).await?;
    bar.finish_and_clear();
    let e2e_rate = rate(args.tasks, end_to_end);
    let drain_rate = rate(args.tasks, drain);
    let log_rate = rate(args.tasks, log_only);
    let out = BenchReport {
        mode,
        tasks: args.tasks,
        workers: args.workers,
        concurrency: args.concurrency,
        enqueue_per_s: rate(args.tasks, enqueue),
        drain_per_s: drain_rate,
        end_to_end_per_s: e2e_rate,
        log_alone_per_s: log_rate,
        loaded_p50_ms: summary.p50.as_secs_f64() * 1e3,
        loaded_p99_ms: summary.p99.as_secs_f64() * 1e3,
        idle_p50_ms: report::percentile(&idle, 0.5).as_secs_f64() * 1e3,
        idle_p99_ms: report::percentile(&idle, 0.99).as_secs_f64() * 1e3,
        peak_memory_mib: report::peak_memory().unwrap_or(0) as f64 / (1024.0 * 1024.0),
        baseline_per_s: baseline_rate,
        ratio_end_to_end: e2e_rate / baseline_rate,
        ratio_drain: drain_rate / baseline_rate,
        ratio_log_alone: log_rate / baseline_rate,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    let rows = vec![
        vec![
            "enqueue".into(),
            format!("{:.0} tasks/s", out.enqueue_per_s),
            String::new(),
        ],
        vec![
            "drain (queue pre-filled)".into(),
            format!("{:.0} tasks/s", out.drain_per_s),
            format!("{:.2}", out.ratio_drain),
        ],
        vec![
            "end to end".into(),
            format!("{:.0} tasks/s", out.end_to_end_per_s),
            format!("{:.2}", out.ratio_end_to_end),
        ],
        vec![
            "task log alone (4 writes a task)".into(),
            format!("{:.0} tasks/s", out.log_alone_per_s),
            format!("{:.2}", out.ratio_log_alone),
        ],
        vec![
            "latency p50 / p99, no backlog".into(),
            format!("{:.1} / {:.1} ms", out.idle_p50_ms, out.idle_p99_ms),
            String::new(),
        ],
        vec![
            "latency p50 / p99, end to end run".into(),
            format!("{:.1} / {:.1} ms", out.loaded_p50_ms, out.loaded_p99_ms),
            String::new(),
        ],
        vec![
            "peak memory".into(),
            format!("{:.1} MiB", out.peak_memory_mib),
            String::new(),
        ],
        vec![
            "raw baseline".into(),
            format!("{:.0} tasks/s", out.baseline_per_s),
            "1.00".into(),
        ],
    ];
    println!(
        "cogman bench: {} no-op tasks, {} workers x {} concurrency, {}\n",
        out.tasks, out.workers, out.concurrency, out.mode
    );
    println!(
        "{}",
        table::render(&["measure", "value", "x baseline"], &rows)
    );
    Ok(())
}
