//! [`PostgresLog`]: the handle (cheap to clone; clones share one pool, one schema gate and one
//! group-commit writer) and `connect` (config, lazy pool, first migration attempt, writer).
//! Every call goes through the schema gate ([`crate::gate`], held in [`Db`]) first; writes
//! then go through the writer ([`crate::writer`]). The trait impls live in `task_log`,
//! `outbox` and `workers`.

use std::fmt;
use std::str::FromStr as _;
use std::sync::Arc;

use cogman_core::{TaskLogError, redact_uri};
use sqlx_postgres::{PgConnectOptions, PgPoolOptions};

use crate::config::PostgresConfig;
use crate::db::Db;
use crate::error::error_chain;
use crate::gate::{self, SchemaGate};
use crate::writer::Writer;

/// The PostgreSQL task log. See the crate docs for the schema and guarantees.
#[derive(Clone)]
pub struct PostgresLog {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    writer: Writer,
    config: PostgresConfig,
}

impl fmt::Debug for PostgresLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresLog")
            .field("uri", &redact_uri(&self.inner.config.uri))
            .field("schema", &self.inner.config.schema)
            .finish()
    }
}

impl PostgresLog {
    /// Checks the config, makes a lazy pool, tries once to create the schema and apply
    /// pending migrations, and starts the group-commit writer on the current tokio runtime.
    ///
    /// When PostgreSQL cannot be reached (refused, timed out, starting or shutting down), the
    /// log opens anyway: it logs a warning, migrates in the background, and every call answers
    /// [`TaskLogError::Unavailable`] until the schema is up to date (see the crate docs).
    ///
    /// # Errors
    /// [`TaskLogError::InvalidQuery`] for a bad config (URI, schema name);
    /// [`TaskLogError::Other`] when the server refuses (authentication, missing database) or a
    /// migration fails.
    pub async fn connect(config: PostgresConfig) -> Result<PostgresLog, TaskLogError> {
        config.validate()?;
        let options = connect_options(&config)?;
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(config.acquire_timeout)
            .connect_lazy_with(options.clone());
        let gate = Arc::new(SchemaGate::new(pool.clone(), options, &config));
        match gate.ready().await {
            Ok(()) => {}
            Err(error) if error.is_transient() => {
                tracing::warn!(
                    uri = %redact_uri(&config.uri),
                    schema = %config.schema,
                    error = %error_chain(&error),
                    "PostgreSQL is unreachable; the log opens anyway, answers Unavailable and \
                     migrates once the server is up"
                );
                gate::spawn_migrator(&gate);
            }
            Err(error) => return Err(error),
        }
        let writer = Writer::spawn(
            pool,
            config.group_commit,
            config.retries,
            config.merge_window,
        );
        Ok(PostgresLog {
            inner: Arc::new(Inner {
                db: Db::new(gate, config.retries),
                writer,
                config,
            }),
        })
    }

    /// The configuration this log was opened with.
    pub fn config(&self) -> &PostgresConfig {
        &self.inner.config
    }

    /// Closes the pool: waits for checked-out connections to come back and closes them all.
    pub async fn close(&self) {
        self.inner.db.close().await;
    }

    /// The schema gate and retry count, which the reading helpers take.
    pub(crate) fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The group-commit writer.
    pub(crate) fn writer(&self) -> &Writer {
        &self.inner.writer
    }
}

/// The connect options of `config`: its URI, `application_name` and `search_path`.
fn connect_options(config: &PostgresConfig) -> Result<PgConnectOptions, TaskLogError> {
    let options = PgConnectOptions::from_str(&config.uri).map_err(|e| {
        TaskLogError::InvalidQuery(format!(
            "invalid PostgreSQL URI {}: {e}",
            redact_uri(&config.uri)
        ))
    })?;
    Ok(options
        .application_name(&config.application_name)
        .options([("search_path", config.schema.as_str())]))
}
