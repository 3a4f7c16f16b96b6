//! [`RedisLog`]: the handle (cheap to clone; clones share one multiplexed connection) over
//! its [`Namespace`] and its group-commit writer ([`crate::writer`], which applies writes with
//! the write script of [`crate::scripts`]). The trait impls live in `task_log` and `workers`.

use std::fmt;
use std::sync::Arc;

use cogman_core::{TaskLogError, redact_uri};

use crate::config::RedisConfig;
use crate::conn::Conn;
use crate::keys::Keys;
use crate::namespace::Namespace;
use crate::scripts::{self, Scripts};
use crate::writer::Writer;

/// The Redis task log. See the crate docs for the key layout and guarantees.
#[derive(Clone)]
pub struct RedisLog {
    inner: Arc<Inner>,
}

struct Inner {
    namespace: Namespace,
    ttl_secs: u64,
    history_limit: usize,
    writer: Writer,
    config: RedisConfig,
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
                namespace: Namespace {
                    conn,
                    keys,
                    scripts: Scripts::new(),
                },
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
            .namespace
            .conn
            .run("ping", |mut con| async move {
                redis::cmd("PING").query_async::<String>(&mut con).await
            })
            .await
            .map(drop)
    }

    /// The connection, key names and scripts of this log's namespace.
    pub(crate) fn namespace(&self) -> &Namespace {
        &self.inner.namespace
    }

    /// The group-commit writer.
    pub(crate) fn writer(&self) -> &Writer {
        &self.inner.writer
    }

    /// How long records live, in whole seconds (at least 1).
    pub(crate) fn ttl_secs(&self) -> u64 {
        self.inner.ttl_secs
    }

    /// Most history entries kept per task.
    pub(crate) fn history_limit(&self) -> usize {
        self.inner.history_limit
    }
}
