//! `cogman demo`: the main job on whatever backends are configured (the embedded SQLite file
//! by default). Starts a worker, sends a mix of tasks — both priorities, some that fail once
//! and succeed on retry, some that always fail and use up their retries, some delayed — shows
//! progress, then prints what the task log recorded next to what the mix should produce, and
//! fails if they differ. In the embedded mode it runs on a database of its own (a temporary
//! file, removed at the end) unless `--db` is given, so it never mixes with a user's tasks or
//! workers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use cogman::{Config, Priority, TaskError, TaskSpec, TaskState, handler_fn};
use futures::{StreamExt, stream};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::report;
use crate::cli::DemoArgs;
use crate::output::outln;
use crate::table;

/// Retries given to tasks that fail.
const RETRIES: u32 = 2;

/// The kinds of task in the mix, each with its handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Resize,
    Flaky,
    Broken,
    Delayed,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Resize => "demo.resize",
            Kind::Flaky => "demo.flaky",
            Kind::Broken => "demo.broken",
            Kind::Delayed => "demo.report",
        }
    }

    /// The i-th task of the mix: 60% resize, 20% flaky, 10% broken, 10% delayed.
    fn of(i: usize) -> Kind {
        match i % 10 {
            0..=5 => Kind::Resize,
            6 | 7 => Kind::Flaky,
            8 => Kind::Broken,
            _ => Kind::Delayed,
        }
    }

    fn spec(self, i: usize) -> TaskSpec {
        let priority = if i.is_multiple_of(2) {
            Priority::High
        } else {
            Priority::Low
        };
        let spec = TaskSpec::new(self.name(), format!("image-{i}").into_bytes())
            .priority(priority)
            .primary_key(format!("demo-{i}"));
        match self {
            Kind::Resize => spec,
            Kind::Flaky | Kind::Broken => spec.retry(RETRIES),
            Kind::Delayed => spec.delay(Duration::from_millis(500 + (i as u64 % 4) * 250)),
        }
    }
}

/// What the mix must produce in the log.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, Eq)]
struct Expected {
    success: u64,
    failed: u64,
    retry: u64,
}

fn expected(kinds: &[Kind]) -> Expected {
    kinds.iter().fold(Expected::default(), |mut e, kind| {
        match kind {
            Kind::Resize | Kind::Delayed => e.success += 1,
            Kind::Flaky => {
                e.success += 1;
                e.retry += 1;
            }
            Kind::Broken => {
                e.failed += 1;
                e.retry += u64::from(RETRIES);
            }
        }
        e
    })
}

fn register(cogman: &cogman::Cogman) -> Result<()> {
    cogman.register(
        Kind::Resize.name(),
        handler_fn(|_ctx, payload: Vec<u8>| async move {
            tokio::time::sleep(Duration::from_millis(2 + payload.len() as u64 % 8)).await;
            Ok::<_, TaskError>(format!("resized {}", String::from_utf8_lossy(&payload)))
        }),
    )?;
    cogman.register(
        Kind::Flaky.name(),
        handler_fn(|ctx, _payload| async move {
            if ctx.attempt == 0 {
                Err(TaskError::retry("upstream timed out (first try)"))
            } else {
                Ok(())
            }
        }),
    )?;
    cogman.register(
        Kind::Broken.name(),
        handler_fn(|_ctx, _payload| async move {
            Err::<(), _>(TaskError::retry("upstream refused the request"))
        }),
    )?;
    cogman.register(
        Kind::Delayed.name(),
        handler_fn(|_ctx, _payload| async move { Ok::<_, TaskError>("report ready") }),
    )?;
    Ok(())
}

/// Counts in words: `12 succeeded, 3 failed, 6 retried`.
fn in_words(counts: Expected) -> String {
    format!(
        "{} succeeded, {} failed, {} retried",
        counts.success, counts.failed, counts.retry
    )
}

pub(crate) async fn run(mut config: Config, args: DemoArgs, db_given: bool) -> Result<()> {
    if args.tasks == 0 {
        bail!("--tasks must be at least 1");
    }
    // Held until the end: the demo's own database lives in it.
    let own_folder = if config.amqp.uri.is_none() && !db_given {
        let folder = tempfile::Builder::new()
            .prefix("cogman-demo-")
            .tempdir()
            .context("creating a folder for the demo's database")?;
        config.sqlite.path = folder.path().join("cogman-demo.db");
        eprintln!(
            "demo database: {} (removed at the end; pass --db FILE to keep it)",
            config.sqlite.path.display()
        );
        Some(folder)
    } else {
        None
    };
    config.concurrency = args.concurrency;
    config.retry_backoff = Duration::from_millis(100);
    config.retry_backoff_max = Duration::from_millis(400);
    config.validate()?;
    let since = Utc::now();
    let started = Instant::now();
    let cogman = cogman::start_background(config)
        .await
        .context("starting the demo's client and worker")?;
    register(&cogman)?;
    let kinds: Vec<Kind> = (0..args.tasks).map(Kind::of).collect();
    let client = Arc::new(cogman.client().clone());
    let sent: Vec<Result<cogman::SendReceipt, cogman::Error>> =
        stream::iter(kinds.iter().enumerate())
            .map(|(i, kind)| {
                let client = Arc::clone(&client);
                let spec = kind.spec(i);
                async move { client.send_task(spec).await }
            })
            .buffer_unordered(32)
            .collect()
            .await;
    if let Some(Err(error)) = sent.into_iter().find(Result::is_err) {
        bail!("sending the demo tasks failed: {error}");
    }
    let bar = ProgressBar::new(args.tasks as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bar:40} {pos}/{len} tasks finished ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let deadline = Instant::now() + Duration::from_secs(120 + args.tasks as u64 / 10);
    let finished = loop {
        let counts = report::read(&cogman.client().inspector(), since)
            .await?
            .counts;
        let done = counts.get(TaskState::Success)
            + counts.get(TaskState::Failed)
            + counts.get(TaskState::Cancelled);
        bar.set_position(done);
        if report::unfinished(&counts) == 0 && done >= args.tasks as u64 {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    let stats = cogman.worker().stats();
    cogman.stop().await;
    let summary = report::read(&cogman.client().inspector(), since).await?;
    let want = expected(&kinds);
    let got = Expected {
        success: summary.counts.get(TaskState::Success),
        failed: summary.counts.get(TaskState::Failed),
        retry: summary.counts.get(TaskState::Retry),
    };
    let attempts = summary.counts.total();
    if args.json {
        let value = serde_json::json!({
            "tasks": args.tasks, "attempts": attempts, "counts": summary.counts, "expected": want,
            "elapsed_s": elapsed.as_secs_f64(), "throughput_per_s": attempts as f64 / elapsed.as_secs_f64(),
            "p50_ms": summary.p50.as_secs_f64() * 1e3, "p99_ms": summary.p99.as_secs_f64() * 1e3,
            "duplicates": stats.duplicates,
        });
        outln!("{}", serde_json::to_string_pretty(&value)?)?;
    } else {
        let expect_of = |state: TaskState| match state {
            TaskState::Success => want.success.to_string(),
            TaskState::Failed => want.failed.to_string(),
            TaskState::Retry => want.retry.to_string(),
            _ => "0".to_owned(),
        };
        let rows: Vec<Vec<String>> = TaskState::ALL
            .iter()
            .map(|s| {
                vec![
                    s.to_string(),
                    summary.counts.get(*s).to_string(),
                    expect_of(*s),
                ]
            })
            .collect();
        outln!(
            "cogman demo: {} tasks ({} attempts) in {:.2}s\n",
            args.tasks,
            attempts,
            elapsed.as_secs_f64()
        )?;
        outln!(
            "{}",
            table::render(&["state", "recorded", "expected"], &rows)
        )?;
        outln!(
            "\nthroughput {:.0} attempts/s   latency p50 {:.1} ms   p99 {:.1} ms   duplicates {}",
            attempts as f64 / elapsed.as_secs_f64(),
            summary.p50.as_secs_f64() * 1e3,
            summary.p99.as_secs_f64() * 1e3,
            stats.duplicates
        )?;
    }
    drop(own_folder);
    if !finished {
        bail!(
            "not every task finished in time: {} of {} attempts are still unfinished",
            report::unfinished(&summary.counts),
            attempts
        );
    }
    if got != want {
        bail!(
            "the task log disagrees with the mix: it recorded {}, the mix should give {}",
            in_words(got),
            in_words(want)
        );
    }
    Ok(())
}
