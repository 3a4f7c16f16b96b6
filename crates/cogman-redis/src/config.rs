//! [`RedisConfig`]: where the Redis task log lives, how long it keeps records and how writes
//! are grouped ([`GroupCommit`]). Its `Debug` output never shows a password.

use std::fmt;
use std::time::Duration;

use cogman_core::{GroupCommit, redact_uri};

/// Settings of a [`crate::RedisLog`].
#[derive(Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// Server URI, e.g. `redis://127.0.0.1:6379/0` or `redis://:secret@host/2`.
    pub uri: String,
    /// How long a task record lives after its last write. Default 7 days (the seed's `RedisTTL`).
    pub ttl: Duration,
    /// Prefix of every key this log writes (`{namespace}:task:{id}`, ...). Default `cogman`.
    /// Two logs with different namespaces never see each other's tasks.
    pub namespace: String,
    /// Most history entries [`TaskLog::history`](cogman_core::TaskLog::history) returns, the
    /// newest. Default 100. (A record stores one entry per rank it reached, so five at most.)
    pub history_limit: u32,
    /// How many times a command that failed because the connection dropped is retried (every
    /// command of this log is idempotent). Default 8: the first at once, then with a backoff from 25 ms to 1 s.
    pub retries: u32,
    /// Longest wait for one reply before the call counts as failed. Default 5 s.
    pub response_timeout: Duration,
    /// Longest wait to open a connection. Default 5 s.
    pub connect_timeout: Duration,
    /// How `create` and `record` calls are grouped into script calls. Default: up to 256
    /// writes or 4 MiB a batch, two batches in flight.
    pub group_commit: GroupCommit,
}

impl RedisConfig {
    /// The default TTL: one week.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

    /// Defaults for the server at `uri`.
    pub fn new(uri: impl Into<String>) -> Self {
        RedisConfig {
            uri: uri.into(),
            ttl: Self::DEFAULT_TTL,
            namespace: "cogman".to_owned(),
            history_limit: 100,
            retries: 8,
            response_timeout: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(5),
            // Smaller batches than PostgreSQL's: one script call blocks Redis while it runs.
            group_commit: GroupCommit {
                max_batch: 256,
                max_batch_bytes: 4 * 1024 * 1024,
                ..GroupCommit::default()
            },
        }
    }

    /// Sets the record TTL.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Sets the key namespace.
    #[must_use]
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Sets how writes are grouped.
    #[must_use]
    pub fn group_commit(mut self, group_commit: GroupCommit) -> Self {
        self.group_commit = group_commit;
        self
    }
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig::new("redis://127.0.0.1:6379/0")
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisConfig")
            .field("uri", &redact_uri(&self.uri))
            .field("ttl", &self.ttl)
            .field("namespace", &self.namespace)
            .field("history_limit", &self.history_limit)
            .field("retries", &self.retries)
            .field("response_timeout", &self.response_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("group_commit", &self.group_commit)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let config = RedisConfig::new("redis://user:hunter2@db.example:6379/3");
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(
            shown.contains("redis://user:***@db.example:6379/3"),
            "{shown}"
        );
    }

    #[test]
    fn defaults_match_the_seed() {
        let config = RedisConfig::new("redis://h");
        assert_eq!(config.ttl, Duration::from_secs(604_800));
        assert_eq!(config.namespace, "cogman");
    }
}
