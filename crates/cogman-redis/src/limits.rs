//! [`LimitStore`] for Redis: the limits in the hash `{ns}:limits` (name → JSON, no TTL), and
//! per bucket `{ns}:limit:tat:{bucket}` (the rate state), `{ns}:limit:leases:{bucket}` (zset
//! of running holders by expiry) and `{ns}:limit:reserved:{bucket}` (hash of reserved starts),
//! which expire an hour after their last use. `acquire` (`lua/acquire.lua`) and `renew`
//! (`lua/renew_lease.lua`) are Lua scripts, so each is atomic; times are the server's clock.

use std::time::Duration;

use async_trait::async_trait;
use cogman_core::limits::CONCURRENCY_RECHECK;
use cogman_core::{Admission, LimitStore, TaskLimit, TaskLogError, WaitReason};

use crate::log::RedisLog;

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[async_trait]
impl LimitStore for RedisLog {
    async fn put_limit(&self, limit: &TaskLimit) -> Result<(), TaskLogError> {
        let ns = self.namespace();
        let key = ns.keys.limits();
        let json = serde_json::to_string(limit).map_err(|e| TaskLogError::Other(Box::new(e)))?;
        ns.conn
            .run("put limit", |mut con| {
                let mut cmd = redis::cmd("HSET");
                cmd.arg(&key).arg(&limit.name).arg(&json);
                async move { cmd.query_async::<()>(&mut con).await }
            })
            .await
    }

    async fn limits(&self) -> Result<Vec<TaskLimit>, TaskLogError> {
        let ns = self.namespace();
        let key = ns.keys.limits();
        let entries: Vec<(String, String)> = ns
            .conn
            .run("limits", |mut con| {
                let mut cmd = redis::cmd("HGETALL");
                cmd.arg(&key);
                async move { cmd.query_async(&mut con).await }
            })
            .await?;
        let mut limits = entries
            .into_iter()
            .map(|(name, json)| {
                serde_json::from_str(&json).map_err(|e| TaskLogError::Corrupt {
                    id: format!("limit {name}"),
                    reason: e.to_string(),
                })
            })
            .collect::<Result<Vec<TaskLimit>, _>>()?;
        limits.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(limits)
    }

    /// The limit goes at once; buckets of keys other than the name's own run out by
    /// themselves (within an hour), as a Redis script cannot list them without a scan.
    async fn remove_limit(&self, name: &str) -> Result<bool, TaskLogError> {
        let ns = self.namespace();
        let key = ns.keys.limits();
        let [tat, leases, reserved] = ns.keys.limit_bucket(name);
        let removed: i64 = ns
            .conn
            .run("remove limit", |mut con| {
                let mut pipe = redis::pipe();
                pipe.atomic()
                    .cmd("HDEL")
                    .arg(&key)
                    .arg(name)
                    .cmd("DEL")
                    .arg(&tat)
                    .arg(&leases)
                    .arg(&reserved)
                    .ignore();
                async move { pipe.query_async::<(i64,)>(&mut con).await.map(|(n,)| n) }
            })
            .await?;
        Ok(removed > 0)
    }

    async fn acquire(
        &self,
        bucket: &str,
        limit: &TaskLimit,
        holder: &str,
        lease: Duration,
    ) -> Result<Admission, TaskLogError> {
        let ns = self.namespace();
        let [tat, leases, reserved] = ns.keys.limit_bucket(bucket);
        let interval = limit.rate.map_or(0, |rate| rate.interval_us());
        let burst = limit.rate.map_or(1, |rate| rate.burst);
        let answer: Vec<i64> = ns
            .conn
            .run("acquire limit", |mut con| {
                let mut invocation = ns.scripts.acquire.prepare_invoke();
                invocation
                    .key(&tat)
                    .key(&leases)
                    .key(&reserved)
                    .arg(holder)
                    .arg(micros(lease))
                    .arg(limit.concurrency.unwrap_or(0))
                    .arg(interval)
                    .arg(burst);
                async move { invocation.invoke_async(&mut con).await }
            })
            .await?;
        Ok(match answer.as_slice() {
            [1, ..] => Admission::Admitted,
            [0, 1, ..] => Admission::Wait {
                after: CONCURRENCY_RECHECK,
                reason: WaitReason::Concurrency,
            },
            [0, 2, wait_us, ..] => Admission::Wait {
                after: Duration::from_micros(u64::try_from(*wait_us).unwrap_or(0)),
                reason: WaitReason::Rate,
            },
            other => {
                return Err(TaskLogError::Corrupt {
                    id: format!("limit bucket {bucket}"),
                    reason: format!("unexpected answer of the acquire script: {other:?}"),
                });
            }
        })
    }

    async fn renew(&self, bucket: &str, holder: &str, lease: Duration) -> Result<(), TaskLogError> {
        let ns = self.namespace();
        let [_, leases, _] = ns.keys.limit_bucket(bucket);
        ns.conn
            .run("renew limit lease", |mut con| {
                let mut invocation = ns.scripts.renew_lease.prepare_invoke();
                invocation.key(&leases).arg(holder).arg(micros(lease));
                async move { invocation.invoke_async::<()>(&mut con).await }
            })
            .await
    }

    async fn release(&self, bucket: &str, holder: &str) -> Result<(), TaskLogError> {
        let ns = self.namespace();
        let [_, leases, _] = ns.keys.limit_bucket(bucket);
        ns.conn
            .run("release limit lease", |mut con| {
                let mut cmd = redis::cmd("ZREM");
                cmd.arg(&leases).arg(holder);
                async move { cmd.query_async::<()>(&mut con).await }
            })
            .await
    }
}
