//! Measures what group commit buys: many concurrent callers each create tasks and record
//! three state changes, first with every write in its own transaction (`max_batch = 1`, one
//! writer per connection), then with the default group commit, then with a 1 ms linger.
//! Prints writes per second and latency percentiles. Not a test: numbers depend on the
//! machine. Run against a scratch schema that is dropped at the end:
//!
//! ```text
//! cargo run -p cogman-postgres --example group_commit -- [postgres-uri] [callers] [tasks-per-caller]
//! ```

use std::str::FromStr as _;
use std::time::{Duration, Instant};

use cogman_core::{StateChange, Task, TaskLog, TaskSpec, TaskState};
use cogman_postgres::{GroupCommit, PostgresConfig, PostgresLog};
use sqlx_core::connection::Connection as _;
use sqlx_core::executor::Executor as _;
use sqlx_core::sql_str::AssertSqlSafe;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let uri = args
        .next()
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let callers: usize = args.next().map_or(Ok(64), |a| a.parse())?;
    let per_caller: usize = args.next().map_or(Ok(20), |a| a.parse())?;
    let schema = format!("cogman_bench_{}", uuid::Uuid::now_v7().simple());
    let base = PostgresConfig::new(uri.clone()).schema(schema.clone());
    let runs = [
        (
            "one transaction per write",
            GroupCommit {
                max_batch: 1,
                in_flight: base.max_connections as usize,
                ..GroupCommit::default()
            },
        ),
        ("group commit (default)", GroupCommit::default()),
        (
            "group commit, 1 ms linger",
            GroupCommit {
                linger: Duration::from_millis(1),
                ..GroupCommit::default()
            },
        ),
    ];
    println!("{callers} callers x {per_caller} tasks x 4 writes (create + 3 records)");
    for (label, group_commit) in runs {
        let log = PostgresLog::connect(base.clone().group_commit(group_commit)).await?;
        let (elapsed, mut latencies) = run(&log, callers, per_caller).await?;
        latencies.sort_unstable();
        let writes = latencies.len();
        let pct = |p: usize| latencies[(writes * p / 100).min(writes - 1)];
        println!(
            "{label:<28} {:>8.0} writes/s   p50 {:>7.2?}   p99 {:>7.2?}",
            writes as f64 / elapsed.as_secs_f64(),
            pct(50),
            pct(99)
        );
        log.close().await;
    }
    let options = sqlx_postgres::PgConnectOptions::from_str(&uri)?;
    let mut admin = sqlx_postgres::PgConnection::connect_with(&options).await?;
    admin
        .execute(AssertSqlSafe(format!("DROP SCHEMA \"{schema}\" CASCADE")))
        .await?;
    Ok(())
}

/// Runs the load; returns the wall time and every write's latency.
async fn run(
    log: &PostgresLog,
    callers: usize,
    per_caller: usize,
) -> Result<(Duration, Vec<Duration>), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..callers {
        let log = log.clone();
        set.spawn(async move {
            let mut latencies = Vec::with_capacity(per_caller * 4);
            for _ in 0..per_caller {
                let task = Task::from_spec(TaskSpec::new("bench", vec![7; 64]), chrono::Utc::now());
                let t = Instant::now();
                log.create(&task).await?;
                latencies.push(t.elapsed());
                for state in [TaskState::Queued, TaskState::InProgress, TaskState::Success] {
                    let t = Instant::now();
                    log.record(&StateChange::new(task.id, state)).await?;
                    latencies.push(t.elapsed());
                }
            }
            Ok::<_, cogman_core::TaskLogError>(latencies)
        });
    }
    let mut all = Vec::new();
    while let Some(joined) = set.join_next().await {
        all.extend(joined??);
    }
    Ok((started.elapsed(), all))
}
