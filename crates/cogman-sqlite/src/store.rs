//! [`SqliteStore`]: one SQLite file holding the queue and the task log. A cheap-to-clone handle
//! over the writer thread (group commit), the reader thread, and the in-process wake-up signal
//! for consumers.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

use crate::conn;
use crate::error::SqliteError;
use crate::options::SqliteOptions;
use crate::reader::Reader;
use crate::schema;
use crate::writer::Writer;

/// The embedded backend: implements [`Broker`](cogman_core::Broker),
/// [`TaskLog`](cogman_core::TaskLog), [`Outbox`](cogman_core::Outbox),
/// [`WorkerRegistry`](cogman_core::WorkerRegistry) and
/// [`QueueStatsSource`](cogman_core::QueueStatsSource) on one file. Clones share the same
/// connections; the background threads stop when the last clone (and the last consumer) is
/// dropped.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    options: SqliteOptions,
    writer: Writer,
    reader: Reader,
    /// Wakes this process's idle consumers when it publishes or puts a task back.
    wake: Notify,
    /// Set by `Broker::close`.
    closed: AtomicBool,
}

impl SqliteStore {
    /// Opens (creating if needed) the file in `options.path`, brings its schema up to date and
    /// starts the writer and reader threads.
    ///
    /// This call blocks for as long as opening and migrating take (milliseconds, or up to
    /// `busy_timeout` when another process holds the write lock); from async code that cares,
    /// call it in `tokio::task::spawn_blocking`. It needs no runtime.
    ///
    /// # Errors
    /// [`SqliteError::Sqlite`] when the file cannot be opened or migrated,
    /// [`SqliteError::SchemaTooNew`] when a newer cogman wrote it.
    pub fn open(options: SqliteOptions) -> Result<SqliteStore, SqliteError> {
        let (writer_conn, reader_conn) = conn::retry_while_busy(&options, || {
            let mut writer_conn = conn::open_writer(&options)?;
            schema::migrate(&mut writer_conn)?;
            Ok((writer_conn, conn::open_reader(&options)?))
        })?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer: Writer::spawn(writer_conn)?,
                reader: Reader::spawn(reader_conn)?,
                options,
                wake: Notify::new(),
                closed: AtomicBool::new(false),
            }),
        })
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &SqliteOptions {
        &self.inner.options
    }

    pub(crate) fn writer(&self) -> &Writer {
        &self.inner.writer
    }

    pub(crate) fn reader(&self) -> &Reader {
        &self.inner.reader
    }

    pub(crate) fn wake(&self) -> &Notify {
        &self.inner.wake
    }

    /// Wakes every idle consumer of this process.
    pub(crate) fn wake_consumers(&self) {
        self.inner.wake.notify_waiters();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::Acquire)
    }

    pub(crate) fn mark_closed(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.wake_consumers();
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.options.path)
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}
