//! [`SqliteError`], and how it maps onto the core's [`BrokerError`] and [`TaskLogError`]
//! (a busy or locked database is transient; everything else is not).

use std::sync::Arc;

use cogman_core::{BrokerError, TaskLogError};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteError {
    /// SQLite reported an error (its message is part of this one's, so it is not also a
    /// `source`).
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
    /// The transaction that held this operation failed, so it was not stored (shared by every
    /// operation of the group commit).
    #[error("the group transaction failed: {0}")]
    Transaction(Arc<rusqlite::Error>),
    /// The file was written by a newer cogman.
    #[error("database schema version {found} is newer than this cogman supports ({supported})")]
    SchemaTooNew {
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// The store's background thread is gone (the store is shutting down).
    #[error("the store's {0} thread has stopped")]
    Stopped(&'static str),
    /// The delivery's lease ran out and the task was claimed again: the call changed nothing.
    #[error("lease lost: the task was claimed again after the lease ran out")]
    LeaseLost,
    /// A stored value could not be decoded.
    #[error("corrupt record for {id}: {reason}")]
    Corrupt {
        /// The record (task id or worker id).
        id: String,
        /// What is wrong.
        reason: String,
    },
    /// A value could not be encoded.
    #[error("could not encode {what}")]
    Encode {
        /// What was encoded.
        what: &'static str,
        /// Why it failed.
        #[source]
        source: serde_json::Error,
    },
    /// Another record of the chain already has this attempt number; nothing was stored.
    #[error("attempt {attempt} of task {original} already exists: {taken_by}")]
    AttemptTaken {
        /// The chain.
        original: cogman_core::TaskId,
        /// The attempt number.
        attempt: u32,
        /// The record that has it.
        taken_by: cogman_core::TaskId,
    },
    /// A background thread could not be started.
    #[error("could not start the store's {0} thread")]
    Spawn(&'static str, #[source] std::io::Error),
}

impl From<rusqlite::Error> for SqliteError {
    fn from(err: rusqlite::Error) -> Self {
        SqliteError::Sqlite(err)
    }
}

impl SqliteError {
    /// True when the database was busy or locked by another process (retry later).
    pub fn is_busy(&self) -> bool {
        let code = match self {
            SqliteError::Sqlite(err) => err.sqlite_error_code(),
            SqliteError::Transaction(err) => err.sqlite_error_code(),
            _ => None,
        };
        matches!(
            code,
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
        )
    }
}

impl From<SqliteError> for BrokerError {
    fn from(err: SqliteError) -> Self {
        match err {
            SqliteError::Corrupt { .. } => BrokerError::Malformed(err.to_string()),
            err if err.is_busy() || matches!(err, SqliteError::Stopped(_)) => {
                BrokerError::Unavailable(Box::new(err))
            }
            err => BrokerError::Other(Box::new(err)),
        }
    }
}

impl From<SqliteError> for TaskLogError {
    fn from(err: SqliteError) -> Self {
        match err {
            SqliteError::Corrupt { id, reason } => TaskLogError::Corrupt { id, reason },
            SqliteError::AttemptTaken {
                original,
                attempt,
                taken_by,
            } => TaskLogError::AttemptTaken {
                original,
                attempt,
                taken_by,
            },
            err if err.is_busy() || matches!(err, SqliteError::Stopped(_)) => {
                TaskLogError::Unavailable(Box::new(err))
            }
            err => TaskLogError::Other(Box::new(err)),
        }
    }
}
