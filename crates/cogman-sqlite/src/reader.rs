//! The reader thread: a read-only connection that answers queries off the async runtime, so
//! reads never wait behind the writer's group transaction (WAL lets them run side by side).

use std::thread;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::error::SqliteError;

type ReadJob = Box<dyn FnOnce(&Connection) + Send>;

/// Sends queries to the reader thread. Cheap to clone; the thread stops with the last clone.
#[derive(Clone)]
pub(crate) struct Reader {
    jobs: mpsc::UnboundedSender<ReadJob>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader").finish_non_exhaustive()
    }
}

impl Reader {
    /// Starts the reader thread on `conn`.
    pub(crate) fn spawn(conn: Connection) -> Result<Reader, SqliteError> {
        let (jobs, mut rx) = mpsc::unbounded_channel::<ReadJob>();
        thread::Builder::new()
            .name("cogman-sqlite-reader".into())
            .spawn(move || {
                while let Some(job) = rx.blocking_recv() {
                    job(&conn);
                }
            })
            .map_err(|err| SqliteError::Spawn("reader", err))?;
        Ok(Reader { jobs })
    }

    /// Runs `query` on the reader connection.
    pub(crate) async fn run<R, F>(&self, query: F) -> Result<R, SqliteError>
    where
        F: FnOnce(&Connection) -> Result<R, SqliteError> + Send + 'static,
        R: Send + 'static,
    {
        let (reply, rx) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = reply.send(query(conn));
        });
        self.jobs
            .send(job)
            .map_err(|_| SqliteError::Stopped("reader"))?;
        rx.await.map_err(|_| SqliteError::Stopped("reader"))?
    }
}
