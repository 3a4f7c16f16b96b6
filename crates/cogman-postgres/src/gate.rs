//! The schema gate: no call touches a table before the migrations have been applied, so a log
//! can be opened while PostgreSQL is down. Until then each call makes one migration attempt
//! itself (so the log is usable as soon as the server answers) and answers
//! [`TaskLogError::Unavailable`] when it fails; a call that finds an attempt in flight waits
//! for that one instead of starting another. [`spawn_migrator`] keeps trying in the
//! background with [`Backoff::RECONNECT`]. An attempt opens its own connection (at most
//! `acquire_timeout`), so a refused connection answers at once instead of waiting for the
//! pool; several processes are serialized by the advisory lock of [`crate::migrate`].

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use cogman_core::{Backoff, Retry, TaskLogError, redact_uri, spawn_retrying};
use sqlx_core::connection::Connection as _;
use sqlx_postgres::{PgConnectOptions, PgConnection, PgPool};
use tokio::sync::Mutex;

use crate::config::PostgresConfig;
use crate::error::{error_chain, is_transient};
use crate::migrate;

/// Why the schema is not ready.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SchemaError {
    /// Connecting or migrating failed.
    #[error("cannot bring {target} up to date")]
    Migrate {
        /// `schema "…" of PostgreSQL at <redacted URI>`.
        target: String,
        /// Why.
        #[source]
        source: sqlx_core::Error,
    },
    /// The server did not accept a connection in time.
    #[error("timed out after {timeout:?} connecting to bring {target} up to date")]
    ConnectTimeout {
        /// `schema "…" of PostgreSQL at <redacted URI>`.
        target: String,
        /// The `acquire_timeout` of the config.
        timeout: Duration,
    },
    /// The attempt this call waited for failed.
    #[error("{target} is not migrated yet: the last attempt failed")]
    NotReady {
        /// `schema "…" of PostgreSQL at <redacted URI>`.
        target: String,
    },
    /// [`crate::PostgresLog::close`] was called before the schema was ever ready.
    #[error("the PostgreSQL log is closed")]
    Closed,
}

impl SchemaError {
    fn is_transient(&self) -> bool {
        match self {
            SchemaError::Migrate { source, .. } => is_transient(source),
            SchemaError::ConnectTimeout { .. } | SchemaError::NotReady { .. } => true,
            SchemaError::Closed => false,
        }
    }
}

impl From<SchemaError> for TaskLogError {
    fn from(error: SchemaError) -> Self {
        if error.is_transient() {
            TaskLogError::Unavailable(Box::new(error))
        } else {
            TaskLogError::Other(Box::new(error))
        }
    }
}

/// The pool, handed out only once the schema is up to date.
#[derive(Debug)]
pub(crate) struct SchemaGate {
    pool: PgPool,
    options: PgConnectOptions,
    schema: String,
    /// `schema "…" of PostgreSQL at <redacted URI>`, for messages.
    target: String,
    connect_timeout: Duration,
    ready: AtomicBool,
    /// Held for the length of one migration attempt.
    attempt: Mutex<()>,
}

impl SchemaGate {
    /// A gate in front of `pool` (lazy: nothing is connected yet).
    pub(crate) fn new(pool: PgPool, options: PgConnectOptions, config: &PostgresConfig) -> Self {
        SchemaGate {
            pool,
            options,
            schema: config.schema.clone(),
            target: format!(
                "schema {:?} of PostgreSQL at {}",
                config.schema,
                redact_uri(&config.uri)
            ),
            connect_timeout: config.acquire_timeout,
            ready: AtomicBool::new(false),
            attempt: Mutex::new(()),
        }
    }

    /// The pool, once the schema is up to date.
    ///
    /// # Errors
    /// As [`SchemaGate::ready`].
    pub(crate) async fn pool(&self) -> Result<&PgPool, TaskLogError> {
        self.ready().await?;
        Ok(&self.pool)
    }

    /// Ok once the schema is up to date; before that, one migration attempt (this call's, or
    /// the one in flight).
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] while the server cannot be reached;
    /// [`TaskLogError::Other`] when it refuses (authentication, missing database), a migration
    /// fails, or the log was closed first.
    pub(crate) async fn ready(&self) -> Result<(), TaskLogError> {
        if self.is_ready() {
            return Ok(());
        }
        if self.pool.is_closed() {
            return Err(SchemaError::Closed.into());
        }
        let Ok(_turn) = self.attempt.try_lock() else {
            drop(self.attempt.lock().await);
            return if self.is_ready() {
                Ok(())
            } else {
                Err(SchemaError::NotReady {
                    target: self.target.clone(),
                }
                .into())
            };
        };
        if self.is_ready() {
            return Ok(());
        }
        let applied = self.migrate_once().await?;
        self.ready.store(true, Ordering::Release);
        tracing::info!(schema = %self.schema, ?applied, "PostgreSQL schema is up to date");
        Ok(())
    }

    /// Closes the pool (see [`crate::PostgresLog::close`]); a migrator in the background stops.
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// Connects (at most `connect_timeout`) and migrates; returns the versions applied now.
    async fn migrate_once(&self) -> Result<Vec<i64>, SchemaError> {
        let failed = |source| SchemaError::Migrate {
            target: self.target.clone(),
            source,
        };
        let mut conn = tokio::time::timeout(
            self.connect_timeout,
            PgConnection::connect_with(&self.options),
        )
        .await
        .map_err(|_| SchemaError::ConnectTimeout {
            target: self.target.clone(),
            timeout: self.connect_timeout,
        })?
        .map_err(failed)?;
        let applied = migrate::migrate(&mut conn, &self.schema)
            .await
            .map_err(failed)?;
        if let Err(error) = conn.close().await {
            tracing::debug!(%error, "closing the migration connection failed");
        }
        Ok(applied)
    }
}

/// Retries the migration in the background until the schema is ready. Stops early when every
/// handle of the log is dropped, the log is closed, or the server refuses for a reason that
/// waiting does not fix (calls still make their own attempts then).
pub(crate) fn spawn_migrator(gate: &Arc<SchemaGate>) {
    spawn_retrying(gate, Backoff::RECONNECT, |gate, attempt| async move {
        if gate.pool.is_closed() {
            return Retry::Stop;
        }
        match gate.ready().await {
            Ok(()) => Retry::Stop,
            Err(error) if error.is_transient() => {
                tracing::debug!(error = %error_chain(&error), attempt, "PostgreSQL schema not ready yet");
                Retry::Again
            }
            Err(error) => {
                tracing::error!(error = %error_chain(&error), "PostgreSQL refused the migration; calls will keep trying");
                Retry::Stop
            }
        }
    });
}
