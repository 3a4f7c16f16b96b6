//! [`WorkerRegistry`] for Redis: a hash of worker id → heartbeat JSON plus a zset of worker
//! ids scored by their last heartbeat, both namespaced and expiring with the log's TTL.
//! Heartbeats older than the TTL are pruned on each heartbeat.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{TaskLogError, WorkerInfo, WorkerRegistry};

use crate::log::RedisLog;

#[async_trait]
impl WorkerRegistry for RedisLog {
    async fn heartbeat(&self, info: &WorkerInfo) -> Result<(), TaskLogError> {
        let ns = self.namespace();
        let (hash, seen) = (ns.keys.workers(), ns.keys.workers_seen());
        let json = serde_json::to_string(info).expect("invariant: a worker heartbeat serializes");
        let ttl = self.ttl_secs();
        let stale_before = Utc::now().timestamp_millis()
            - i64::try_from(ttl.saturating_mul(1000)).unwrap_or(i64::MAX);
        let stale: Vec<String> = ns
            .conn
            .run("heartbeat", |mut con| {
                let mut pipe = redis::pipe();
                pipe.atomic()
                    .cmd("HSET")
                    .arg(&hash)
                    .arg(&info.id)
                    .arg(&json)
                    .ignore()
                    .cmd("ZADD")
                    .arg(&seen)
                    .arg(info.last_heartbeat.timestamp_millis())
                    .arg(&info.id)
                    .ignore()
                    .cmd("EXPIRE")
                    .arg(&hash)
                    .arg(ttl)
                    .ignore()
                    .cmd("EXPIRE")
                    .arg(&seen)
                    .arg(ttl)
                    .ignore()
                    .cmd("ZRANGEBYSCORE")
                    .arg(&seen)
                    .arg("-inf")
                    .arg(format!("({stale_before}"));
                async move {
                    pipe.query_async::<(Vec<String>,)>(&mut con)
                        .await
                        .map(|(stale,)| stale)
                }
            })
            .await?;
        if !stale.is_empty() {
            ns.conn
                .run("prune workers", |mut con| {
                    let mut pipe = redis::pipe();
                    pipe.cmd("HDEL").arg(&hash).arg(&stale).ignore();
                    pipe.cmd("ZREM").arg(&seen).arg(&stale).ignore();
                    async move { pipe.exec_async(&mut con).await }
                })
                .await?;
        }
        Ok(())
    }

    async fn deregister(&self, worker_id: &str) -> Result<(), TaskLogError> {
        let ns = self.namespace();
        let (hash, seen) = (ns.keys.workers(), ns.keys.workers_seen());
        ns.conn
            .run("deregister", |mut con| {
                let mut pipe = redis::pipe();
                pipe.atomic()
                    .cmd("HDEL")
                    .arg(&hash)
                    .arg(worker_id)
                    .ignore()
                    .cmd("ZREM")
                    .arg(&seen)
                    .arg(worker_id)
                    .ignore();
                async move { pipe.exec_async(&mut con).await }
            })
            .await
    }

    async fn workers(&self, since: DateTime<Utc>) -> Result<Vec<WorkerInfo>, TaskLogError> {
        let ns = self.namespace();
        let (hash, seen) = (ns.keys.workers(), ns.keys.workers_seen());
        let ids: Vec<String> = ns
            .conn
            .run("workers", |mut con| {
                let seen = &seen;
                async move {
                    redis::cmd("ZRANGEBYSCORE")
                        .arg(seen)
                        .arg(since.timestamp_millis())
                        .arg("+inf")
                        .query_async(&mut con)
                        .await
                }
            })
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let found: HashMap<String, String> = ns
            .conn
            .run("workers", |mut con| {
                let (hash, ids) = (&hash, &ids);
                async move {
                    let values: Vec<Option<String>> = redis::cmd("HMGET")
                        .arg(hash)
                        .arg(ids)
                        .query_async(&mut con)
                        .await?;
                    Ok(ids
                        .iter()
                        .cloned()
                        .zip(values)
                        .filter_map(|(id, v)| v.map(|v| (id, v)))
                        .collect())
                }
            })
            .await?;
        let mut workers = Vec::with_capacity(found.len());
        for id in ids {
            let Some(json) = found.get(&id) else { continue };
            let info: WorkerInfo =
                serde_json::from_str(json).map_err(|e| TaskLogError::Corrupt {
                    id: id.clone(),
                    reason: format!("worker heartbeat: {e}"),
                })?;
            if info.last_heartbeat >= since {
                workers.push(info);
            }
        }
        Ok(workers)
    }
}
