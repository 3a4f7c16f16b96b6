//! Measures no-op tasks end to end through the SQLite store alone (log record, publish, claim,
//! in_progress, success, ack) and prints the rates. The comparison with a plain rusqlite queue
//! doing the same work is `cogman bench`.
//!
//! `cargo run --release -p cogman-sqlite --example roundtrip -- [tasks] [normal]`

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use cogman_core::{Broker, ConsumeOptions, StateChange, Task, TaskLog, TaskSpec, TaskState};
use cogman_sqlite::{SqliteOptions, SqliteStore, Synchronous};
use tokio::sync::Semaphore;

const PRODUCERS: usize = 32;
const CONCURRENCY: usize = 64;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(Ok(5000), |a| a.parse())?;
    let sync = match args.next().as_deref() {
        Some("normal") => Synchronous::Normal,
        _ => Synchronous::Full,
    };
    let dir = std::env::temp_dir().join(format!("cogman-roundtrip-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;

    let store =
        SqliteStore::open(SqliteOptions::new(dir.join("cogman.db")).with_synchronous(sync))?;
    let (enqueue, process) = cogman_roundtrip(&store, n).await?;
    let total = enqueue + process;
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "cogman ({sync:?}): {n} tasks, send {:.0}/s, run {:.0}/s, total {:.0}/s",
        rate(enqueue),
        rate(process),
        rate(total)
    );
    drop(store);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// Sends `n` tasks (create + publish, from concurrent producers), then runs them (claim,
/// in_progress, success, ack) with `CONCURRENCY` handlers; returns both durations.
async fn cogman_roundtrip(
    store: &SqliteStore,
    n: usize,
) -> Result<(Duration, Duration), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mut producers = tokio::task::JoinSet::new();
    for p in 0..PRODUCERS {
        let store = store.clone();
        let count = n / PRODUCERS + usize::from(p < n % PRODUCERS);
        producers.spawn(async move {
            for _ in 0..count {
                let mut task = Task::from_spec(
                    TaskSpec::new("bench.noop", b"{\"n\":1}".to_vec()),
                    Utc::now(),
                );
                store.create(&task).await?;
                task.status = TaskState::Queued;
                store.publish(&task).await?;
                store
                    .record(&StateChange::new(task.id, TaskState::Queued))
                    .await?;
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        });
    }
    while let Some(done) = producers.join_next().await {
        done?.map_err(|e| e.to_string())?;
    }
    let enqueue = started.elapsed();

    let started = Instant::now();
    let mut consumer = store
        .consume(ConsumeOptions {
            prefetch: CONCURRENCY as u16,
            consumer_tag: "roundtrip".into(),
            lease: Duration::from_secs(30),
            ..ConsumeOptions::default()
        })
        .await?;
    let slots = Arc::new(Semaphore::new(CONCURRENCY));
    let mut running = tokio::task::JoinSet::new();
    for _ in 0..n {
        let permit = Arc::clone(&slots).acquire_owned().await?;
        let delivery = consumer.next().await?;
        let store = store.clone();
        running.spawn(async move {
            let id = delivery.task().id;
            store
                .record(&StateChange::new(id, TaskState::InProgress))
                .await?;
            store
                .record(&StateChange::new(id, TaskState::Success).duration(Duration::ZERO))
                .await?;
            delivery.ack().await?;
            drop(permit);
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        });
    }
    while let Some(done) = running.join_next().await {
        done?.map_err(|e| e.to_string())?;
    }
    Ok((enqueue, started.elapsed()))
}
