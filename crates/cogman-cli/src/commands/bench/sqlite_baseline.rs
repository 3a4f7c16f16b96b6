//! The honest SQLite baseline: the best plain rusqlite queue with cogman's durability per task.
//! One WAL file with cogman's pragmas (`synchronous=FULL`), one connection shared by a producer
//! thread and a consumer thread that take turns on it. Each task is three durable writes — the
//! insert, the claim (a lease, so a crashed consumer's rows come back) and the delete once it
//! ran — and every write is group-committed: the producer inserts a batch per transaction, the
//! consumer claims a batch per transaction and deletes the previous batch in that same
//! transaction. cogman's writer thread groups its writes the same way.

use std::path::Path;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use cogman::Task;
use rusqlite::{Connection, TransactionBehavior, params};

use super::baseline::RawQueue;

/// How long a claimed row stays leased (it only matters if the consumer dies).
const LEASE_NS: i64 = 30_000_000_000;

/// A plain SQLite queue shared by a producer and a consumer thread.
pub(super) struct SqliteBaseline {
    conn: Arc<Mutex<Connection>>,
    payload: Arc<Vec<u8>>,
    producer_batch: usize,
    consumer_batch: usize,
}

impl SqliteBaseline {
    /// Creates the queue in a new file at `path`. Rows carry `sample` as JSON (what a task
    /// row holds); the producer commits `producer_batch` rows at a time and the consumer
    /// claims up to `consumer_batch`.
    pub(super) fn open(
        path: &Path,
        sample: &Task,
        producer_batch: usize,
        consumer_batch: usize,
    ) -> Result<SqliteBaseline> {
        let conn = Connection::open(path)
            .with_context(|| format!("opening the baseline's file {}", path.display()))?;
        conn.busy_timeout(Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS raw_queue (
                 seq INTEGER PRIMARY KEY, visible_at INTEGER NOT NULL,
                 lease_token INTEGER, payload BLOB NOT NULL);",
        )?;
        Ok(SqliteBaseline {
            conn: Arc::new(Mutex::new(conn)),
            payload: Arc::new(serde_json::to_vec(sample)?),
            producer_batch: producer_batch.max(1),
            consumer_batch: consumer_batch.max(1),
        })
    }

    fn producer(
        &self,
        n: usize,
        notify: Option<Sender<()>>,
    ) -> impl FnOnce() -> Result<()> + Send + use<> {
        let conn = Arc::clone(&self.conn);
        let payload = Arc::clone(&self.payload);
        let batch = self.producer_batch;
        move || {
            let mut left = n;
            while left > 0 {
                let count = left.min(batch);
                {
                    let mut conn = lock(&conn)?;
                    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    {
                        let mut insert = tx.prepare_cached(
                            "INSERT INTO raw_queue (visible_at, payload) VALUES (?1, ?2)",
                        )?;
                        for _ in 0..count {
                            insert.execute(params![now_ns(), payload.as_slice()])?;
                        }
                    }
                    tx.commit()?;
                }
                left -= count;
                if let Some(notify) = &notify {
                    let _ = notify.send(());
                }
            }
            Ok(())
        }
    }

    /// Runs `n` tasks through the consumer. With `arrivals`, waits there when the queue is
    /// empty (the producer is still inserting); without, every row is already in.
    fn consumer(
        &self,
        n: usize,
        arrivals: Option<Receiver<()>>,
    ) -> impl FnOnce() -> Result<()> + Send + use<> {
        let conn = Arc::clone(&self.conn);
        let batch = i64::try_from(self.consumer_batch).unwrap_or(i64::MAX);
        move || {
            let mut claimed_total = 0;
            let mut finished: Vec<i64> = Vec::new();
            let mut token: i64 = 0;
            let mut producer_done = arrivals.is_none();
            loop {
                token += 1;
                let claimed = {
                    let mut conn = lock(&conn)?;
                    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                    {
                        let mut delete =
                            tx.prepare_cached("DELETE FROM raw_queue WHERE seq = ?1")?;
                        for seq in finished.drain(..) {
                            delete.execute([seq])?;
                        }
                    }
                    let claimed = if claimed_total < n {
                        let now = now_ns();
                        let mut claim = tx.prepare_cached(
                            "UPDATE raw_queue SET visible_at = ?1, lease_token = ?2 \
                             WHERE seq IN (SELECT seq FROM raw_queue WHERE visible_at <= ?3 \
                                           ORDER BY seq LIMIT ?4) \
                             RETURNING seq, payload",
                        )?;
                        claim
                            .query_map(params![now + LEASE_NS, token, now, batch], |row| {
                                // The payload is read, as a worker would read its task.
                                let _payload: Vec<u8> = row.get(1)?;
                                row.get::<_, i64>(0)
                            })?
                            .collect::<rusqlite::Result<Vec<i64>>>()?
                    } else {
                        Vec::new()
                    };
                    tx.commit()?;
                    claimed
                };
                if claimed_total >= n {
                    return Ok(());
                }
                if claimed.is_empty() {
                    if producer_done {
                        bail!("the baseline's queue ran dry after {claimed_total} of {n} rows");
                    }
                    if let Some(arrivals) = &arrivals {
                        match arrivals.recv_timeout(Duration::from_secs(1)) {
                            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
                            Err(RecvTimeoutError::Disconnected) => producer_done = true,
                        }
                    }
                    continue;
                }
                // The no-op tasks "run" here; their rows are deleted in the next transaction.
                claimed_total += claimed.len();
                finished = claimed;
            }
        }
    }
}

impl RawQueue for SqliteBaseline {
    fn describe(&self) -> String {
        format!(
            "plain rusqlite queue, one WAL file, synchronous=FULL, one connection shared by a \
             producer thread and a consumer thread: {} inserts per transaction, claims (leases) \
             of up to {} rows per transaction that also delete the previous batch - 3 durable, \
             group-committed writes per task; end to end = producer and consumer at once",
            self.producer_batch, self.consumer_batch
        )
    }

    async fn fill(&mut self, n: usize) -> Result<Duration> {
        timed(self.producer(n, None)).await
    }

    async fn drain(&mut self, n: usize) -> Result<Duration> {
        timed(self.consumer(n, None)).await
    }

    async fn end_to_end(&mut self, n: usize) -> Result<Duration> {
        let (notify, arrivals) = mpsc::channel();
        let producer = self.producer(n, Some(notify));
        let consumer = self.consumer(n, Some(arrivals));
        let started = Instant::now();
        let (produced, consumed) = tokio::join!(
            tokio::task::spawn_blocking(producer),
            tokio::task::spawn_blocking(consumer)
        );
        produced??;
        consumed??;
        Ok(started.elapsed())
    }

    async fn close(self) {}
}

/// Runs blocking `work` on its own thread and returns how long it took.
async fn timed(work: impl FnOnce() -> Result<()> + Send + 'static) -> Result<Duration> {
    let started = Instant::now();
    tokio::task::spawn_blocking(work).await??;
    Ok(started.elapsed())
}

fn lock(conn: &Mutex<Connection>) -> Result<std::sync::MutexGuard<'_, Connection>> {
    conn.lock()
        .map_err(|_| anyhow!("a baseline thread panicked holding the connection"))
}

fn now_ns() -> i64 {
    chrono::Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}
