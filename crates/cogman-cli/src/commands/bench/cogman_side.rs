//! One round of cogman on the configured backends: enqueue, drain of the pre-filled queue, end
//! to end (with the CPU split), latency with no backlog, and the task log alone (the four
//! status writes of a task's life with no broker). Each round starts fresh workers and purges
//! its tasks from the log at the end.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use chrono::Utc;
use cogman::backends::Backends;
use cogman::{
    Client, Config, StateChange, Task, TaskError, TaskLog, TaskSpec, TaskState, Worker, handler_fn,
};
use futures::{StreamExt, stream};
use indicatif::ProgressBar;

use super::super::report;
use super::cpu::{Sample, Server};
use super::figures::{CogmanFigures, SideFigures, rate};
use super::{BenchShape, SEND_CONCURRENCY};

/// Tasks timed one by one for the no-backlog latency.
const IDLE_SAMPLES: usize = 200;

/// What a cogman round runs on: opened once for every round.
pub(super) struct CogmanBench<'a> {
    pub(super) config: &'a Config,
    pub(super) backends: &'a Backends,
    pub(super) client: &'a Client,
    pub(super) shape: &'a BenchShape,
    pub(super) servers: &'a [Server],
}

impl CogmanBench<'_> {
    /// Runs round `round` (its tasks' keys start with `r{round}-`).
    pub(super) async fn round(&self, round: usize, bar: &ProgressBar) -> Result<CogmanFigures> {
        let n = self.shape.tasks;
        let workers = self.start_workers()?;
        bar.set_length((n * 2) as u64);
        bar.set_position(0);
        bar.set_message(format!("round {}: cogman enqueue", round + 1));
        let enqueue = send_all(self.client, n, &format!("r{round}-fill")).await?;
        bar.set_message(format!("round {}: cogman drain", round + 1));
        for worker in &workers {
            worker.start().await?;
        }
        let drain = wait_succeeded(&workers, n as u64, bar).await?;
        bar.set_message(format!("round {}: cogman end to end", round + 1));
        let since = Utc::now();
        let before = Sample::take(self.servers);
        let started = Instant::now();
        let tag = format!("r{round}-e2e");
        let sending = send_all(self.client, n, &tag);
        let finishing = wait_succeeded(&workers, (n * 2) as u64, bar);
        let (sent, finished) = tokio::join!(sending, finishing);
        sent?;
        finished?;
        let end_to_end = started.elapsed();
        let cpu = Sample::take(self.servers).per_task_since(&before, n);
        let loaded = report::read(&self.client.inspector(), since).await?;
        bar.set_message(format!("round {}: cogman latency, no backlog", round + 1));
        let idle = idle_latencies(self.client, &workers, round).await?;
        for worker in &workers {
            worker.stop().await;
        }
        bar.set_message(format!("round {}: cogman task log alone", round + 1));
        // As many lives at once as tasks in flight end to end: sends plus worker slots.
        let in_flight = SEND_CONCURRENCY + self.shape.workers * self.shape.concurrency as usize;
        let log_only = log_alone(&self.backends.log, n, in_flight, round).await?;
        if let Err(error) = self.backends.log.purge_before(Utc::now()).await {
            eprintln!("could not purge the benchmark's tasks: {error}");
        }
        Ok(CogmanFigures {
            side: SideFigures {
                enqueue_per_s: rate(n, enqueue),
                drain_per_s: rate(n, drain),
                end_to_end_per_s: rate(n, end_to_end),
                cpu_us_per_task: cpu,
            },
            log_alone_per_s: rate(n, log_only),
            loaded_p50_ms: loaded.p50.as_secs_f64() * 1e3,
            loaded_p99_ms: loaded.p99.as_secs_f64() * 1e3,
            idle_p50_ms: report::percentile(&idle, 0.5).as_secs_f64() * 1e3,
            idle_p99_ms: report::percentile(&idle, 0.99).as_secs_f64() * 1e3,
        })
    }

    fn start_workers(&self) -> Result<Vec<Worker>> {
        let workers: Vec<Worker> = (0..self.shape.workers)
            .map(|_| self.backends.worker_with(self.config, self.client.clone()))
            .collect();
        for worker in &workers {
            worker.register(
                "bench.noop",
                handler_fn(|_ctx, _payload| async { Ok::<_, TaskError>(()) }),
            )?;
        }
        Ok(workers)
    }
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

fn succeeded(workers: &[Worker]) -> u64 {
    workers.iter().map(|w| w.stats().succeeded).sum()
}

async fn wait_succeeded(workers: &[Worker], target: u64, bar: &ProgressBar) -> Result<Duration> {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(600);
    loop {
        let done = succeeded(workers);
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

/// Sends [`IDLE_SAMPLES`] tasks one at a time, each after the previous finished, and returns
/// the send-to-finish time of each, sorted (latency with no backlog).
async fn idle_latencies(
    client: &Client,
    workers: &[Worker],
    round: usize,
) -> Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(IDLE_SAMPLES);
    for i in 0..IDLE_SAMPLES {
        let before = succeeded(workers);
        let started = Instant::now();
        client
            .send_task(
                TaskSpec::new("bench.noop", Vec::new()).primary_key(format!("r{round}-idle-{i}")),
            )
            .await?;
        let deadline = started + Duration::from_secs(30);
        while succeeded(workers) <= before {
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
async fn log_alone(
    log: &Arc<dyn TaskLog>,
    n: usize,
    in_flight: usize,
    round: usize,
) -> Result<Duration> {
    let started = Instant::now();
    let failures = stream::iter(0..n)
        .map(|i| {
            let log = Arc::clone(log);
            async move {
                let spec =
                    TaskSpec::new("bench.log", Vec::new()).primary_key(format!("r{round}-log-{i}"));
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
