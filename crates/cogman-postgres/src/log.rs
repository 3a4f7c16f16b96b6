//! [`PostgresLog`]: the handle (cheap to clone; clones share one pool and one group-commit
//! writer), `connect` (pool, migrations, writer) and its [`TaskLog`] implementation. Writes go
//! through the writer ([`crate::writer`]); reads are single queries, retried when a
//! connection is lost.

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
use crate::error::{into_log_error, retry};
use crate::writer::Writer;
use crate::{counts, list, migrate, row};

/// The PostgreSQL task log. See the crate docs for the schema and guarantees.
#[derive(Clone)]
pub struct PostgresLog {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) pool: PgPool,
    pub(crate) writer: Writer,
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
    /// Opens the pool, creates the schema and applies pending migrations, and starts the
    /// group-commit writer on the current tokio runtime.
    ///
    /// # Errors
    /// [`TaskLogError::InvalidQuery`] for a bad config (URI, schema name);
    /// [`TaskLogError::Unavailable`] when the database cannot be reached;
    /// [`TaskLogError::Other`] when a migration fails.
    pub async fn connect(config: PostgresConfig) -> Result<PostgresLog, TaskLogError> {
        config.validate()?;
        let options = PgConnectOptions::from_str(&config.uri)
            .map_err(|e| {
                TaskLogError::InvalidQuery(format!(
                    "invalid PostgreSQL URI {}: {e}",
                    redact_uri(&config.uri)
                ))
            })?
            .application_name(&config.application_name)
            .options([("search_path", config.schema.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(config.acquire_timeout)
            .connect_with(options)
            .await
            .map_err(into_log_error)?;
        retry("migrate", config.retries, || {
            migrate::migrate(&pool, &config.schema)
        })
        .await?;
        let writer = Writer::spawn(pool.clone(), config.group_commit, config.retries);
        Ok(PostgresLog {
            inner: Arc::new(Inner {
                pool,
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
        self.inner.pool.close().await;
    }

    pub(crate) fn retries(&self) -> u32 {
        self.inner.config.retries
    }
}

#[async_trait]
impl TaskLog for PostgresLog {
    async fn create(&self, task: &Task) -> Result<(), TaskLogError> {
        self.inner.writer.create(task).await
    }

    async fn record(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        self.inner.writer.record(change).await
    }

    async fn get(&self, id: TaskId) -> Result<Option<Task>, TaskLogError> {
        const SQL: &str = concat!("SELECT ", row::task_columns!(), " FROM tasks WHERE id = $1");
        let found = retry("get", self.retries(), || {
            sqlx_core::query::query(SQL)
                .bind(id.as_uuid())
                .fetch_optional(&self.inner.pool)
        })
        .await?;
        found.as_ref().map(row::task).transpose()
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
        let rows = retry("history", self.retries(), || {
            sqlx_core::query::query(
                "SELECT task_id, status, at, error, result, duration, worker \
                 FROM task_events WHERE task_id = $1 ORDER BY seq",
            )
            .bind(id.as_uuid())
            .fetch_all(&self.inner.pool)
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
