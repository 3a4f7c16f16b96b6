//! Shared by the Redis test binaries: a log in a fresh namespace on the local server, and a
//! guard that deletes that namespace's keys (and only those) when the test ends.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use cogman_redis::{RedisConfig, RedisLog};
use cogman_testkit::servers::SharedCleanup;

/// The local test server.
pub const REDIS_URI: &str = "redis://127.0.0.1:6379/0";

/// A namespace whose keys (and only those: never `FLUSH*`, the server is shared) are
/// deleted when dropped, also when the test panics.
#[derive(Debug)]
pub struct NamespaceGuard {
    pub namespace: String,
    _cleanup: SharedCleanup,
}

impl NamespaceGuard {
    pub fn new(namespace: &str) -> Self {
        NamespaceGuard {
            namespace: namespace.to_owned(),
            _cleanup: SharedCleanup::new().redis_namespace(REDIS_URI, namespace),
        }
    }
}

/// A unique namespace for one test.
pub fn unique_namespace(test: &str) -> String {
    format!("cogman-test:{test}:{}", uuid::Uuid::now_v7().simple())
}

/// A config for a fresh namespace; keys live ten minutes at most even if the guard never runs.
pub fn config(test: &str) -> RedisConfig {
    RedisConfig::new(REDIS_URI)
        .namespace(unique_namespace(test))
        .ttl(Duration::from_secs(600))
}

/// A log in a fresh namespace plus the guard that deletes it.
pub async fn fresh_log(test: &str) -> (RedisLog, NamespaceGuard) {
    fresh_log_with(config(test)).await
}

/// A log with `config` plus the guard that deletes its namespace.
pub async fn fresh_log_with(config: RedisConfig) -> (RedisLog, NamespaceGuard) {
    let guard = NamespaceGuard::new(&config.namespace);
    let log = RedisLog::connect(config)
        .await
        .expect("the local Redis on 127.0.0.1:6379 must be running");
    (log, guard)
}

/// A plain connection for poking at the server in tests.
pub async fn admin() -> redis::aio::MultiplexedConnection {
    redis::Client::open(REDIS_URI)
        .expect("valid URI")
        .get_multiplexed_async_connection()
        .await
        .expect("the local Redis on 127.0.0.1:6379 must be running")
}

/// How many keys `namespace` holds.
pub async fn count_keys(namespace: &str) -> usize {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{namespace}:*"))
        .query_async(&mut admin().await)
        .await
        .expect("keys");
    keys.len()
}
