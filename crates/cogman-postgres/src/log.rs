//! [`PostgresLog`]: the handle (cheap to clone; clones share one pool, one schema gate and one
//! group-commit writer), `connect` (config, lazy pool, first migration attempt, writer) and
//! its [`TaskLog`] implementation. Every call goes through the schema gate
//! ([`crate::gate`]) first; writes then go through the writer ([`crate::writer`]); reads are
//! single queries, retried when a connection is lost.

use std::fmt;
use std::str::FromStr as _;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{
    BucketCount, CountQuery, Outbox, Page, PageRequest, RecordOutcome, StateChange, Task,
    TaskFilter, TaskId, TaskLog, TaskLogError, WorkerRegistry, redact_uri,
};
use sqlx_postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::config::PostgresConfig;
use crate::error::{error_chain, retry};
use crate::gate::{self, SchemaGate};
use crate::writer::Writer;
use crate::{counts, list, row};

/// The PostgreSQL task log. See the crate docs for the schema and guarantees.
#[derive(Clone)]
pub struct PostgresLog {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    gate: Arc<SchemaGate>,
    writer: Writer,
    pub(crate) config: PostgresConfig,
}

impl fmt::Debug for PostgresLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresLog")
            .field("uri", &redact_uri(&self.inner.config.uri))
            .field("schema", &self.inner.config.schema)
            .field("ttl", &self.inner.config.ttl)
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
                gate,
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
        self.inner.gate.close().await;
    }

    /// The pool, once the schema is up to date (see [`crate::gate`]).
    pub(crate) async fn pool(&self) -> Result<&PgPool, TaskLogError> {
        self.inner.gate.pool().await
    }

    pub(crate) fn retries(&self) -> u32 {
        self.inner.config.retries
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

#[async_trait]
impl TaskLog for PostgresLog {
    async fn create(&self, task: &Task) -> Result<(), TaskLogError> {
        self.inner.gate.ready().await?;
        self.inner.writer.create(task).await
    }

    async fn record(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        self.inner.gate.ready().await?;
        self.inner.writer.record(change).await
    }

    async fn record_behind(&self, change: &StateChange) -> Result<(), TaskLogError> {
        self.inner.gate.ready().await?;
        self.inner.writer.record_behind(change).await
    }

    async fn flush(&self) -> Result<(), TaskLogError> {
        self.inner.writer.flush().await
    }

    async fn get(&self, id: TaskId) -> Result<Option<Task>, TaskLogError> {
        const SQL: &str = concat!("SELECT ", row::task_columns!(), " FROM tasks WHERE id = $1");
        let pool = self.pool().await?;
        let found = retry("get", self.retries(), || {
            sqlx_core::query::query(SQL)
                .bind(id.as_uuid())
                .fetch_optional(pool)
        })
        .await?;
        let Some(mut task) = found.as_ref().map(row::task).transpose()? else {
            return Ok(None);
        };
        self.inner.writer.overlay(&mut task);
        Ok(Some(task))
    }

    async fn list(&self, filter: &TaskFilter, page: PageRequest) -> Result<Page, TaskLogError> {
        list::list(self, filter, page).await
    }

    async fn oldest(&self, filter: &TaskFilter, limit: u32) -> Result<Vec<Task>, TaskLogError> {
        list::oldest(self, filter, limit).await
    }

    async fn counts(&self, query: &CountQuery) -> Result<Vec<BucketCount>, TaskLogError> {
        counts::counts(self, query).await
    }

    async fn history(&self, id: TaskId) -> Result<Vec<StateChange>, TaskLogError> {
        let pool = self.pool().await?;
        let rows = retry("history", self.retries(), || {
            sqlx_core::query::query(
                "SELECT task_id, status, at, error, result, duration, worker \
                 FROM task_events WHERE task_id = $1 ORDER BY seq",
            )
            .bind(id.as_uuid())
            .fetch_all(pool)
        })
        .await?;
        rows.iter().map(row::change).collect()
    }

    async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<u64, TaskLogError> {
        crate::purge::purge_before(self, cutoff).await
    }

    fn outbox(&self) -> Option<&dyn Outbox> {
        Some(self)
    }

    fn worker_registry(&self) -> Option<&dyn WorkerRegistry> {
        Some(self)
    }
}
