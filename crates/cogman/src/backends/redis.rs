//! Redis: its config section, [`RedisConfig`], and [`open`], which connects the task log.

use std::time::Duration;

use cogman_redis::RedisLog;
use serde::{Deserialize, Serialize};

use super::backend_error;
use crate::config::{Config, ConfigError, check_name, check_positive, check_uri, redacted};
use crate::error::Error;

/// The `[redis]` section: Redis is the task log when `uri` is set (the hot tier in front of
/// PostgreSQL when both are).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisConfig {
    /// Redis URI (`redis://` or `rediss://`).
    pub uri: Option<String>,
    /// How long Redis keeps a task record. Default 1 week (the seed's `RedisTTL`).
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// Prefix of every key. Default `cogman`.
    pub namespace: String,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            uri: None,
            ttl: Duration::from_secs(7 * 24 * 3600),
            namespace: "cogman".into(),
        }
    }
}

impl RedisConfig {
    /// The defaults with Redis at `uri`.
    pub fn new(uri: impl Into<String>) -> Self {
        RedisConfig {
            uri: Some(uri.into()),
            ..RedisConfig::default()
        }
    }

    /// Checks the section.
    ///
    /// # Errors
    /// The first [`ConfigError`] found, naming a `redis.*` field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_uri("redis.uri", self.uri.as_deref(), &["redis", "rediss"])?;
        check_positive("redis.ttl", self.ttl)?;
        check_name("redis.namespace", &self.namespace, false)
    }
}

impl std::fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisConfig")
            .field("uri", &redacted(self.uri.as_deref()))
            .field("ttl", &self.ttl)
            .field("namespace", &self.namespace)
            .finish()
    }
}

/// Connects the Redis task log at `uri` with the settings of `config`.
pub(super) async fn open(uri: &str, config: &Config) -> Result<RedisLog, Error> {
    let mut redis = cogman_redis::RedisConfig::new(uri);
    redis.ttl = config.redis.ttl;
    redis.namespace.clone_from(&config.redis.namespace);
    RedisLog::connect(redis)
        .await
        .map_err(|e| backend_error("redis", e))
}
