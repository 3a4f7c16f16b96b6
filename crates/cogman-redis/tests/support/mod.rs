//! Shared by the Redis test binaries: a log in a fresh namespace on the local server, and a
//! guard that deletes that namespace's keys (and only those) when the test ends.

#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use cogman_redis::{RedisConfig, RedisLog};

/// The local test server.
pub const REDIS_URI: &str = "redis://127.0.0.1:6379/0";

/// Deletes every key of a namespace when dropped (`SCAN MATCH {ns}:*`, never `FLUSH*`).
#[derive(Debug)]
pub struct NamespaceGuard {
    pub namespace: String,
}

impl Drop for NamespaceGuard {
    fn drop(&mut self) {
        let _ = delete_namespace(&self.namespace);
    }
}

/// Deletes the keys of `namespace`; returns how many.
pub fn delete_namespace(namespace: &str) -> redis::RedisResult<usize> {
    let client = redis::Client::open(REDIS_URI)?;
    let mut con = client.get_connection()?;
    let mut keys: Vec<String> = Vec::new();
    let mut cursor: u64 = 0;
    loop {
        let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{namespace}:*"))
            .arg("COUNT")
            .arg(1000)
            .query(&mut con)?;
        keys.extend(batch);
        if next == 0 {
            break;
        }
        cursor = next;
    }
    for chunk in keys.chunks(500) {
        redis::cmd("DEL").arg(chunk).query::<()>(&mut con)?;
    }
    Ok(keys.len())
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
    let guard = NamespaceGuard {
        namespace: config.namespace.clone(),
    };
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
