//! [`RedisLog`]: the handle (cheap to clone; clones share one multiplexed connection) and its
//! [`TaskLog`] implementation. Writes run the Lua scripts of [`crate::scripts`]; reads are
//! plain commands. Listing, counting and purging live in their own modules.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{
    BucketCount, CountQuery, Page, PageRequest, RecordOutcome, StateChange, Task, TaskFilter,
    TaskId, TaskLog, TaskLogError, TaskState, WorkerRegistry,
};

use crate::config::RedisConfig;
use crate::conn::Conn;
use crate::keys::Keys;
use crate::record::{self, Fields};
use crate::scripts::Scripts;
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
    pub(crate) history_limit: u32,
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
    /// Connects to the server in `config`.
    ///
    /// # Errors
    /// [`TaskLogError::InvalidQuery`] for a malformed URI or an empty namespace;
    /// [`TaskLogError::Unavailable`] when the server cannot be reached.
    pub async fn connect(config: RedisConfig) -> Result<RedisLog, TaskLogError> {
        if config.namespace.is_empty() {
            return Err(TaskLogError::InvalidQuery(
                "the Redis namespace must not be empty".into(),
            ));
        }
        let conn = Conn::open(&config).await?;
        Ok(RedisLog {
            inner: Arc::new(Inner {
                conn,
                keys: Keys::new(&config.namespace),
                scripts: Scripts::new(),
                ttl_secs: config.ttl.as_secs().max(1),
                history_limit: config.history_limit.max(1),
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

/// What a create or record script answered.
fn parse_reply(id: TaskId, reply: &[String]) -> Result<RecordOutcome, TaskLogError> {
    match reply {
        [word] if word == "applied" || word == "created" => Ok(RecordOutcome::Applied),
        [word] if word == "unchanged" => Ok(RecordOutcome::Unchanged),
        [word] if word == "missing" => Ok(RecordOutcome::Missing),
        [word, current] if word == "stale" => current
            .parse::<TaskState>()
            .map(|current| RecordOutcome::Stale { current })
            .map_err(|e| record::corrupt(id, e.to_string())),
        other => Err(TaskLogError::Other(
            format!("unexpected reply from the task script: {other:?}").into(),
        )),
    }
}

fn push_pairs(invocation: &mut redis::ScriptInvocation<'_>, fields: &Fields) {
    for (field, value) in fields {
        invocation.arg(*field).arg(value.as_slice());
    }
}

#[async_trait]
impl TaskLog for RedisLog {
    async fn create(&self, task: &Task) -> Result<(), TaskLogError> {
        let inner = &self.inner;
        let full = record::fields(task);
        let extra = record::outcome_fields(
            task.fail_error.as_deref(),
            task.result.as_deref(),
            task.duration,
        );
        let entry = record::history_entry(&StateChange::from_task(task));
        let (task_key, history_key) = (inner.keys.task(task.id), inner.keys.history(task.id));
        let prefix = inner.keys.index_prefix();
        let reply: Vec<String> = inner
            .conn
            .run("create", |mut con| {
                let mut invocation = inner.scripts.create.prepare_invoke();
                invocation
                    .key(&task_key)
                    .key(&history_key)
                    .arg(&prefix)
                    .arg(task.id.to_string())
                    .arg(task.status.as_str())
                    .arg(record::timestamp(task.updated_at))
                    .arg(inner.ttl_secs)
                    .arg(&entry)
                    .arg(inner.history_limit)
                    .arg(record::score(task.created_at))
                    .arg(&task.name)
                    .arg(task.primary_key.as_deref().unwrap_or(""))
                    .arg(task.original_task_id.to_string())
                    .arg(full.len());
                push_pairs(&mut invocation, &full);
                push_pairs(&mut invocation, &extra);
                async move { invocation.invoke_async(&mut con).await }
            })
            .await?;
        parse_reply(task.id, &reply).map(drop)
    }

    async fn record(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        let inner = &self.inner;
        let extra = record::outcome_fields(
            change.error.as_deref(),
            change.result.as_deref(),
            change.duration,
        );
        let entry = record::history_entry(change);
        let id = change.task_id;
        let (task_key, history_key) = (inner.keys.task(id), inner.keys.history(id));
        let prefix = inner.keys.index_prefix();
        let reply: Vec<String> = inner
            .conn
            .run("record", |mut con| {
                let mut invocation = inner.scripts.record.prepare_invoke();
                invocation
                    .key(&task_key)
                    .key(&history_key)
                    .arg(&prefix)
                    .arg(id.to_string())
                    .arg(change.state.as_str())
                    .arg(record::timestamp(change.at))
                    .arg(inner.ttl_secs)
                    .arg(&entry)
                    .arg(inner.history_limit);
                push_pairs(&mut invocation, &extra);
                async move { invocation.invoke_async(&mut con).await }
            })
            .await?;
        parse_reply(id, &reply)
    }

    async fn get(&self, id: TaskId) -> Result<Option<Task>, TaskLogError> {
        let key = self.inner.keys.task(id);
        let hash: HashMap<String, Vec<u8>> = self
            .inner
            .conn
            .run("get", |mut con| {
                let key = &key;
                async move { redis::cmd("HGETALL").arg(key).query_async(&mut con).await }
            })
            .await?;
        record::parse_task(id, hash)
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
        let key = self.inner.keys.history(id);
        let entries: Vec<Vec<u8>> = self
            .inner
            .conn
            .run("history", |mut con| {
                let key = &key;
                async move {
                    redis::cmd("LRANGE")
                        .arg(key)
                        .arg(0)
                        .arg(-1)
                        .query_async(&mut con)
                        .await
                }
            })
            .await?;
        entries
            .iter()
            .map(|entry| record::parse_history(id, entry))
            .collect()
    }

    async fn purge_before(&self, cutoff: DateTime<Utc>) -> Result<u64, TaskLogError> {
        crate::purge::purge_before(self, cutoff).await
    }

    fn worker_registry(&self) -> Option<&dyn WorkerRegistry> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_replies_map_to_outcomes() {
        let id = TaskId::new();
        let reply = |words: &[&str]| {
            parse_reply(
                id,
                &words.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>(),
            )
        };
        assert_eq!(reply(&["applied"]).ok(), Some(RecordOutcome::Applied));
        assert_eq!(reply(&["unchanged"]).ok(), Some(RecordOutcome::Unchanged));
        assert_eq!(reply(&["missing"]).ok(), Some(RecordOutcome::Missing));
        assert_eq!(
            reply(&["stale", "success"]).ok(),
            Some(RecordOutcome::Stale {
                current: TaskState::Success
            })
        );
        assert!(reply(&["stale", "bogus"]).is_err());
        assert!(reply(&[]).is_err());
    }
}
