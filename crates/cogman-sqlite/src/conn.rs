//! Opening connections with cogman's settings: WAL journal, the chosen `synchronous` level,
//! and a busy timeout so several processes can share the file.

use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};

use crate::error::SqliteError;
use crate::options::SqliteOptions;

/// The connection that writes (one per store, on the writer thread).
pub(crate) fn open_writer(options: &SqliteOptions) -> Result<Connection, SqliteError> {
    let conn = open(options)?;
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(%mode, path = %options.path.display(), "SQLite refused WAL mode");
    }
    Ok(conn)
}

/// Runs `open` again while it fails because another connection holds a lock, for up to
/// `busy_timeout` in all.
///
/// The busy timeout alone is not enough when several processes open a fresh file at once:
/// SQLite answers `SQLITE_BUSY` at once, without waiting, when waiting could deadlock (switching
/// the journal to WAL while another connection migrates the schema, for one).
pub(crate) fn retry_while_busy<T>(
    options: &SqliteOptions,
    mut open: impl FnMut() -> Result<T, SqliteError>,
) -> Result<T, SqliteError> {
    let deadline = Instant::now() + options.busy_timeout;
    let mut pause = Duration::from_millis(1);
    loop {
        match open() {
            Err(err) if err.is_busy() && Instant::now() + pause < deadline => {
                tracing::debug!(path = %options.path.display(), "database busy while opening; trying again");
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            result => return result,
        }
    }
}

/// A connection that only reads.
pub(crate) fn open_reader(options: &SqliteOptions) -> Result<Connection, SqliteError> {
    let conn = open(options)?;
    conn.pragma_update(None, "query_only", "ON")?;
    Ok(conn)
}

fn open(options: &SqliteOptions) -> Result<Connection, SqliteError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(&options.path, flags)?;
    conn.busy_timeout(options.busy_timeout)?;
    conn.pragma_update(None, "synchronous", options.synchronous.pragma_value())?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}
