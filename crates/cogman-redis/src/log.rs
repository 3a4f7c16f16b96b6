//! [`RedisLog`]: the handle (cheap to clone; clones share one multiplexed connection) and its
//! [`TaskLog`] implementation. Writes go through the group-commit writer of
//! [`crate::writer`], which applies them with the write script of [`crate::scripts`]; reads
//! are plain commands. Listing, counting and purging live in their own modules.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{
    BucketCount, CountQuery, Page, PageRequest, RecordOutcome, StateChange, Task, TaskFilter,
    TaskId, TaskLog, TaskLogError, WorkerRegistry,
};

use crate::config::RedisConfig;
use crate::conn::Conn;
use crate::keys::Keys;
use crate::record;
use crate::scripts::{self, Scripts};
use crate::writer::Writer;
use cogman_core::redact_uri;

/// The Redis task log. See the crate docs for the key layout and guarantees.
#[derive(Clone)]
pub struct RedisLog {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) conn: Conn,
    pub(crate) keys: Keys,
    pub(crate) scripts: Scripts,
    pub(crate) ttl_secs: u64,
    pub(crate) history_limit: usize,
    pub(crate) writer: Writer,
    pub(crate) config: RedisConfig,
}

impl fmt::Debug for RedisLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisLog")
            .field("uri", &redact_uri(&self.inner.config.uri))
            .field("namespace", &self.inner.config.namespace)
            .field("ttl", &self.inner.config.ttl)
            .finish()
    }
}

impl RedisLog {
    /// Connects to the server in `config` and starts its group-commit writer on the current
    /// Tokio runtime (writes need that runtime to keep running). When the server cannot be
    /// reached now, answers Ok anyway and connects in the background: until then every call
    /// answers [`TaskLogError::Unavailable`] after at most `connect_timeout`.
    ///
    /// # Errors
    /// [`TaskLogError::InvalidQuery`] for a malformed URI or an empty namespace;
    /// [`TaskLogError::Other`] when the server answers but refuses the connection.
    pub async fn connect(config: RedisConfig) -> Result<RedisLog, TaskLogError> {
        if config.namespace.is_empty() {
            return Err(TaskLogError::InvalidQuery(
                "the Redis namespace must not be empty".into(),
            ));
        }
        let conn = Conn::open(&config).await?;
        let keys = Keys::new(&config.namespace);
        let ttl_secs = config.ttl.as_secs().max(1);
        let writer = Writer::spawn(
            conn.clone(),
            scripts::write(),
            &keys,
            ttl_secs,
            config.group_commit,
        );
        Ok(RedisLog {
            inner: Arc::new(Inner {
                conn,
                keys,
                scripts: Scripts::new(),
                ttl_secs,
                history_limit: usize::try_from(config.history_limit.max(1)).unwrap_or(usize::MAX),
                writer,
                config,
            }),
        })
    }

    /// The configuration this log was opened with.
    pub fn config(&self) -> &RedisConfig {
        &self.inner.config
    }

    /// Sends `PING`; Ok when the server answers (for health checks).
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the server cannot be reached.
    pub async fn ping(&self) -> Result<(), TaskLogError> {
        self.inner
            .conn
            .run("ping", |mut con| async move {
                redis::cmd("PING").query_async::<String>(&mut con).await
            })
            .await
            .map(drop)
    }
}

#[async_trait]
impl TaskLog for RedisLog {
    async fn create(&self, task: &Task) -> Result<(), TaskLogError> {
        self.inner.writer.create(task).await
    }

    async fn record(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        self.inner.writer.record(change).await
    }

    async fn get(&self, id: TaskId) -> Result<Option<Task>, TaskLogError> {
        let read = record::read_command(&self.inner.keys.task(id));
        let values: Vec<Option<Vec<u8>>> = self
            .inner
            .conn
            .run("get", |mut con| {
                let read = &read;
                async move { read.query_async(&mut con).await }
            })
            .await?;
        record::parse_task(id, record::stored_fields(values))
    }

    async fn list(&self, filter: &TaskFilter, page: PageRequest) -> Result<Page, TaskLogError> {
        crate::list::list(self, filter, page).await
    }

    async fn oldest(&self, filter: &TaskFilter, limit: u32) -> Result<Vec<Task>, TaskLogError> {
        crate::list::oldest(self, filter, limit).await
    }

    async fn counts(&self, query: &CountQuery) -> Result<Vec<BucketCount>, TaskLogError> {
        crate::counts::counts(self, query).await
    }

    async fn history(&self, id: TaskId) -> Result<Vec<StateChange>, TaskLogError> {
        let read = record::history_command(&self.inner.keys.task(id));
        let entries: Vec<Option<Vec<u8>>> = self
            .inner
            .conn
            .run("history", |mut con| {
                let read = &read;
                async move { read.query_async(&mut con).await }
            })
            .await?;
        record::parse_history(id, entries, self.inner.history_limit)
    }

    async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<u64, TaskLogError> {
        crate::purge::purge_before(self, cutoff).await
    }

    fn worker_registry(&self) -> Option<&dyn WorkerRegistry> {
        Some(self)
    }
}
