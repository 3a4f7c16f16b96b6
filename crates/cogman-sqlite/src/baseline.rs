//! The raw baseline for `cogman bench`: the same row work as a cogman round trip, done with
//! plain SQL and no cogman logic, the way a naive SQLite queue would do it. It inserts `n` rows
//! shaped like `queue` rows, then claims each with `UPDATE … RETURNING` and completes it with
//! `DELETE`, one transaction per statement, on a connection with the store's pragmas.
//! cogman's own rate is reported as a ratio of this one.

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use cogman_core::{Task, TaskSpec};
use rusqlite::{OptionalExtension as _, params};

use crate::conn;
use crate::error::SqliteError;
use crate::options::SqliteOptions;
use crate::queue::codec;
use crate::time::now_ns;

/// What the baseline measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselineReport {
    /// Rows pushed through.
    pub tasks: usize,
    /// Time to insert every row.
    pub enqueue: Duration,
    /// Time to claim and delete every row.
    pub process: Duration,
}

impl BaselineReport {
    /// Enqueue plus process.
    pub fn total(&self) -> Duration {
        self.enqueue + self.process
    }

    /// Rows inserted per second.
    pub fn enqueue_rate(&self) -> f64 {
        rate(self.tasks, self.enqueue)
    }

    /// Rows claimed and deleted per second.
    pub fn process_rate(&self) -> f64 {
        rate(self.tasks, self.process)
    }

    /// Rows through the whole round trip per second.
    pub fn total_rate(&self) -> f64 {
        rate(self.tasks, self.total())
    }
}

fn rate(n: usize, elapsed: Duration) -> f64 {
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        n as f64 / secs
    } else {
        f64::INFINITY
    }
}

/// Runs the baseline on the file at `path` with the store's default pragmas
/// (`synchronous=FULL`). Blocks; call it from `spawn_blocking` in async code.
///
/// # Errors
/// When the file cannot be opened or written.
pub fn raw_roundtrip(path: &Path, n: usize) -> Result<BaselineReport, SqliteError> {
    raw_roundtrip_with(&SqliteOptions::new(path), n)
}

/// [`raw_roundtrip`] with the pragmas of `options` (durability, busy timeout).
///
/// # Errors
/// When the file cannot be opened or written.
pub fn raw_roundtrip_with(
    options: &SqliteOptions,
    n: usize,
) -> Result<BaselineReport, SqliteError> {
    let conn = conn::open_writer(options)?;
    conn.execute_batch(
        "DROP TABLE IF EXISTS baseline_queue;
         CREATE TABLE baseline_queue (
             seq INTEGER PRIMARY KEY AUTOINCREMENT, task_id TEXT NOT NULL UNIQUE,
             priority INTEGER NOT NULL, run_at INTEGER NOT NULL, visible_at INTEGER NOT NULL,
             lease_owner TEXT, lease_token INTEGER, deliveries INTEGER NOT NULL DEFAULT 0,
             unsettled INTEGER NOT NULL DEFAULT 0, task TEXT NOT NULL, payload BLOB NOT NULL);
         CREATE INDEX baseline_queue_claim ON baseline_queue (priority, visible_at, seq);",
    )?;

    let started = Instant::now();
    {
        let mut insert = conn.prepare(
            "INSERT INTO baseline_queue (task_id, priority, run_at, visible_at, task, payload) \
             VALUES (?1, ?2, ?3, ?3, ?4, ?5)",
        )?;
        for _ in 0..n {
            let row = codec::encode(&sample_task())?;
            insert.execute(row.insert_params())?;
        }
    }
    let enqueue = started.elapsed();

    let started = Instant::now();
    {
        let mut claim = conn.prepare(
            "UPDATE baseline_queue SET visible_at = ?1, lease_token = ?2, lease_owner = 'baseline', \
             deliveries = deliveries + 1 \
             WHERE seq IN (SELECT seq FROM baseline_queue WHERE priority = 1 AND visible_at <= ?3 \
                           ORDER BY visible_at, seq LIMIT 1) \
             RETURNING seq, task, payload",
        )?;
        let mut complete =
            conn.prepare("DELETE FROM baseline_queue WHERE seq = ?1 AND lease_token = ?2")?;
        let mut token: i64 = 0;
        loop {
            token += 1;
            let now = now_ns();
            let claimed = claim
                .query_row(params![now + 30_000_000_000, token, now], |row| {
                    Ok((
                        row.get::<_, i64>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, Vec<u8>>(2)?,
                    ))
                })
                .optional()?;
            let Some((seq, _task, _payload)) = claimed else {
                break;
            };
            complete.execute(params![seq, token])?;
        }
    }
    let process = started.elapsed();
    conn.execute_batch("DROP TABLE baseline_queue")?;
    Ok(BaselineReport {
        tasks: n,
        enqueue,
        process,
    })
}

/// A no-op task like the ones `cogman bench` sends.
fn sample_task() -> Task {
    Task::from_spec(
        TaskSpec::new("bench.noop", b"{\"n\":1}".to_vec()),
        Utc::now(),
    )
}
