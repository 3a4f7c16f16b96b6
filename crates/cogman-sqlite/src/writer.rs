//! The writer thread and its group commit. Every write is a job sent over a channel; the thread
//! takes every job waiting, runs them all in ONE `BEGIN IMMEDIATE` transaction (each in its own
//! savepoint when there are several, so a failing job rolls back alone), commits once, and only
//! then replies to each caller. Concurrent writers therefore share one fsync.

use std::sync::Arc;
use std::thread;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::error::SqliteError;

/// Most jobs in one transaction.
const MAX_BATCH: usize = 512;

/// A write to run in the group transaction.
trait Job: Send {
    /// Runs the write; false when it failed (its changes must be rolled back).
    fn run(&mut self, conn: &Connection) -> bool;
    /// Replies once the transaction has committed (`Ok`) or failed (`Err`).
    fn finish(self: Box<Self>, committed: Result<(), Arc<rusqlite::Error>>);
}

/// A job with a typed result and the caller's reply channel.
struct TypedJob<F, R> {
    work: Option<F>,
    result: Option<Result<R, SqliteError>>,
    reply: oneshot::Sender<Result<R, SqliteError>>,
}

impl<F, R> Job for TypedJob<F, R>
where
    F: FnOnce(&Connection) -> Result<R, SqliteError> + Send,
    R: Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let result = work(conn);
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, committed: Result<(), Arc<rusqlite::Error>>) {
        let this = *self;
        let outcome = match committed {
            Err(err) => Err(SqliteError::Transaction(err)),
            Ok(()) => this.result.unwrap_or(Err(SqliteError::Stopped("writer"))),
        };
        // The caller may have stopped waiting; the write is committed either way.
        let _ = this.reply.send(outcome);
    }
}

/// A pending reply from the writer.
pub(crate) type Reply<R> = oneshot::Receiver<Result<R, SqliteError>>;

/// Sends writes to the writer thread. Cheap to clone; the thread stops when every clone is gone.
#[derive(Clone)]
pub(crate) struct Writer {
    jobs: mpsc::UnboundedSender<Box<dyn Job>>,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub(crate) fn spawn(conn: Connection) -> Result<Writer, SqliteError> {
        let (jobs, rx) = mpsc::unbounded_channel();
        thread::Builder::new()
            .name("cogman-sqlite-writer".into())
            .spawn(move || serve(&conn, rx))
            .map_err(|err| SqliteError::Spawn("writer", err))?;
        Ok(Writer { jobs })
    }

    /// Queues `work` for the next group transaction and returns where its result will arrive.
    /// The write happens even if the receiver is dropped.
    pub(crate) fn submit<R, F>(&self, work: F) -> Result<Reply<R>, SqliteError>
    where
        F: FnOnce(&Connection) -> Result<R, SqliteError> + Send + 'static,
        R: Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job = TypedJob {
            work: Some(work),
            result: None,
            reply,
        };
        self.jobs
            .send(Box::new(job))
            .map_err(|_| SqliteError::Stopped("writer"))?;
        Ok(rx)
    }

    /// Runs `work` in the next group transaction and waits until it is committed.
    pub(crate) async fn run<R, F>(&self, work: F) -> Result<R, SqliteError>
    where
        F: FnOnce(&Connection) -> Result<R, SqliteError> + Send + 'static,
        R: Send + 'static,
    {
        wait(self.submit(work)?).await
    }
}

/// Waits for a submitted write.
pub(crate) async fn wait<R>(reply: Reply<R>) -> Result<R, SqliteError> {
    reply.await.map_err(|_| SqliteError::Stopped("writer"))?
}

fn serve(conn: &Connection, mut rx: mpsc::UnboundedReceiver<Box<dyn Job>>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let committed = run_batch(conn, &mut batch).map_err(Arc::new);
        for job in batch.drain(..) {
            job.finish(committed.clone());
        }
    }
}

/// Runs the batch in one transaction. An error means nothing of the batch was stored.
fn run_batch(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Result<(), rusqlite::Error> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let outcome = run_jobs(conn, batch);
    let outcome = outcome.and_then(|any_ok| {
        if any_ok {
            conn.execute_batch("COMMIT")
        } else {
            conn.execute_batch("ROLLBACK")
        }
    });
    if outcome.is_err() && !conn.is_autocommit() {
        // Best effort: the error being reported is the one that matters.
        let _ = conn.execute_batch("ROLLBACK");
    }
    outcome
}

/// Runs each job; with several jobs each gets a savepoint so a failure undoes only its own
/// changes. Returns whether any job succeeded (else the caller rolls back).
fn run_jobs(conn: &Connection, batch: &mut [Box<dyn Job>]) -> Result<bool, rusqlite::Error> {
    if let [only] = batch {
        return Ok(only.run(conn));
    }
    let mut any_ok = false;
    for job in batch.iter_mut() {
        conn.prepare_cached("SAVEPOINT job")?.execute([])?;
        if job.run(conn) {
            any_ok = true;
        } else {
            conn.prepare_cached("ROLLBACK TO job")?.execute([])?;
        }
        conn.prepare_cached("RELEASE job")?.execute([])?;
    }
    Ok(any_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failing_write_rolls_back_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let conn = Connection::open(dir.path().join("w.db")).expect("open");
        conn.execute_batch("CREATE TABLE t (n INTEGER NOT NULL)")
            .expect("create");
        let writer = Writer::spawn(conn).expect("spawn");

        let insert = |n: i64, fail: bool| {
            writer
                .submit(move |conn| {
                    conn.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
                    if fail {
                        conn.execute("INSERT INTO missing_table VALUES (1)", [])?;
                    }
                    Ok(n)
                })
                .expect("submit")
        };
        // Submitted together, so they usually share one transaction.
        let replies = [insert(1, false), insert(2, true), insert(3, false)];
        let mut results = Vec::new();
        for reply in replies {
            results.push(wait(reply).await.ok());
        }
        assert_eq!(results, vec![Some(1), None, Some(3)]);

        let stored = writer
            .run(|conn| {
                let mut stmt = conn.prepare("SELECT n FROM t ORDER BY n")?;
                let rows = stmt.query_map([], |row| row.get::<_, i64>(0))?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await
            .expect("read back");
        assert_eq!(
            stored,
            vec![1, 3],
            "the failed job's insert was rolled back"
        );
    }
}
