//! [`ScheduleStore`] for Redis. A schedule is a hash `{ns}:schedule:{id}` (its definition as
//! JSON, the paused flag, `since` and the last run, times in ms) listed in the zset
//! `{ns}:schedules`; its claimed slots are the zset `{ns}:schedule_slots:{id}`.
//!
//! The two operations that must happen once are Lua scripts, so Redis runs each as one step:
//! - the lease (`lua/lease.lua`): `{ns}:lease:{name}` holds the holder and expires with the
//!   lease (`PX`, on the server's clock); it is set only when absent or already the caller's.
//! - a slot's claim (`lua/claim_slot.lua`): `ZADD NX` of the slot, which only the first
//!   caller adds, and in the same step the slot becomes the schedule's last run.
//!
//! Schedule records carry no TTL (unlike task records): they are configuration.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{LastRun, Schedule, ScheduleRecord, ScheduleStore, TaskId, TaskLogError};

use crate::log::RedisLog;

/// How long a claimed slot is kept behind the newest claim of its schedule: older slots are
/// before the schedule's last run, which the scheduler never sends again anyway.
const KEEP_CLAIMS: Duration = Duration::from_secs(7 * 24 * 3600);

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1)
}

fn corrupt(id: &str, reason: impl std::fmt::Display) -> TaskLogError {
    TaskLogError::Corrupt {
        id: format!("schedule {id}"),
        reason: reason.to_string(),
    }
}

fn time(
    id: &str,
    fields: &HashMap<String, String>,
    name: &str,
) -> Result<Option<DateTime<Utc>>, TaskLogError> {
    let Some(text) = fields.get(name) else {
        return Ok(None);
    };
    let ms: i64 = text
        .parse()
        .map_err(|_| corrupt(id, format!("{name} is not a time in ms: {text:?}")))?;
    DateTime::from_timestamp_millis(ms)
        .map(Some)
        .ok_or_else(|| corrupt(id, format!("{name} is out of range: {ms}")))
}

/// Reads a schedule's hash back (`None` for a missing one: removed meanwhile).
fn record(
    id: &str,
    fields: &HashMap<String, String>,
) -> Result<Option<ScheduleRecord>, TaskLogError> {
    let Some(json) = fields.get("definition") else {
        return Ok(None);
    };
    let mut schedule: Schedule = serde_json::from_str(json).map_err(|e| corrupt(id, e))?;
    schedule.paused = fields.get("paused").is_some_and(|p| p == "1");
    let since = time(id, fields, "since")?.ok_or_else(|| corrupt(id, "no since"))?;
    let last_run = match time(id, fields, "last_slot")? {
        Some(slot) => Some(LastRun {
            slot,
            at: time(id, fields, "last_at")?.unwrap_or(slot),
            task_id: fields
                .get("last_task")
                .map(|t| t.parse::<TaskId>().map_err(|e| corrupt(id, e)))
                .transpose()?,
        }),
        None => None,
    };
    Ok(Some(ScheduleRecord {
        schedule,
        since,
        last_run,
    }))
}

fn flag(paused: bool) -> &'static str {
    if paused { "1" } else { "0" }
}

impl RedisLog {
    async fn schedule_fields(&self, id: &str) -> Result<HashMap<String, String>, TaskLogError> {
        let ns = self.namespace();
        let key = ns.keys.schedule(id);
        ns.conn
            .run("schedule", |mut con| {
                let key = &key;
                async move { redis::cmd("HGETALL").arg(key).query_async(&mut con).await }
            })
            .await
    }
}

#[async_trait]
impl ScheduleStore for RedisLog {
    async fn put_schedule(&self, schedule: &Schedule) -> Result<(), TaskLogError> {
        let json = serde_json::to_string(schedule).map_err(|e| TaskLogError::Other(Box::new(e)))?;
        let ns = self.namespace();
        let (key, all) = (ns.keys.schedule(&schedule.id), ns.keys.schedules());
        let since = Utc::now().timestamp_millis();
        ns.conn
            .run("put schedule", |mut con| {
                let mut pipe = redis::pipe();
                pipe.atomic()
                    .cmd("HSET")
                    .arg(&key)
                    .arg("definition")
                    .arg(&json)
                    .arg("paused")
                    .arg(flag(schedule.paused))
                    .arg("since")
                    .arg(since)
                    .ignore()
                    .cmd("ZADD")
                    .arg(&all)
                    .arg(0)
                    .arg(&schedule.id)
                    .ignore();
                async move { pipe.exec_async(&mut con).await }
            })
            .await
    }

    async fn schedule(&self, id: &str) -> Result<Option<ScheduleRecord>, TaskLogError> {
        record(id, &self.schedule_fields(id).await?)
    }

    async fn schedules(&self) -> Result<Vec<ScheduleRecord>, TaskLogError> {
        let ns = self.namespace();
        let all = ns.keys.schedules();
        // Equal scores: Redis orders the ids bytewise, as `ORDER BY id` does.
        let ids: Vec<String> = ns
            .conn
            .run("schedules", |mut con| {
                let all = &all;
                async move {
                    redis::cmd("ZRANGE")
                        .arg(all)
                        .arg(0)
                        .arg(-1)
                        .query_async(&mut con)
                        .await
                }
            })
            .await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let hashes: Vec<HashMap<String, String>> = ns
            .conn
            .run("schedules", |mut con| {
                let mut pipe = redis::pipe();
                for id in &ids {
                    pipe.cmd("HGETALL").arg(ns.keys.schedule(id));
                }
                async move { pipe.query_async(&mut con).await }
            })
            .await?;
        let mut records = Vec::with_capacity(ids.len());
        for (id, fields) in ids.iter().zip(&hashes) {
            records.extend(record(id, fields)?);
        }
        Ok(records)
    }

    async fn set_paused(&self, id: &str, paused: bool) -> Result<bool, TaskLogError> {
        let ns = self.namespace();
        let key = ns.keys.schedule(id);
        let now = Utc::now().timestamp_millis();
        let done: i64 = ns
            .conn
            .run("pause schedule", |mut con| {
                let mut invocation = ns.scripts.pause_schedule.prepare_invoke();
                invocation.key(&key).arg(flag(paused)).arg(now);
                async move { invocation.invoke_async(&mut con).await }
            })
            .await?;
        Ok(done == 1)
    }

    async fn remove_schedule(&self, id: &str) -> Result<bool, TaskLogError> {
        let ns = self.namespace();
        let (key, slots, all) = (
            ns.keys.schedule(id),
            ns.keys.schedule_slots(id),
            ns.keys.schedules(),
        );
        let (removed,): (i64,) = ns
            .conn
            .run("remove schedule", |mut con| {
                let mut pipe = redis::pipe();
                pipe.atomic()
                    .cmd("DEL")
                    .arg(&key)
                    .arg(&slots)
                    .ignore()
                    .cmd("ZREM")
                    .arg(&all)
                    .arg(id);
                async move { pipe.query_async(&mut con).await }
            })
            .await?;
        Ok(removed > 0)
    }

    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, TaskLogError> {
        let ns = self.namespace();
        let key = ns.keys.lease(name);
        let held: i64 = ns
            .conn
            .run("take lease", |mut con| {
                let mut invocation = ns.scripts.lease.prepare_invoke();
                invocation.key(&key).arg(holder).arg(millis(ttl));
                async move { invocation.invoke_async(&mut con).await }
            })
            .await?;
        Ok(held == 1)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), TaskLogError> {
        let ns = self.namespace();
        let key = ns.keys.lease(name);
        // The unique keys' release: delete only while this holder holds it.
        let _: i64 = ns
            .conn
            .run("release lease", |mut con| {
                let mut invocation = ns.scripts.release.prepare_invoke();
                invocation.key(&key).arg(holder);
                async move { invocation.invoke_async(&mut con).await }
            })
            .await?;
        Ok(())
    }

    async fn lease_holder(
        &self,
        name: &str,
    ) -> Result<Option<(String, DateTime<Utc>)>, TaskLogError> {
        let ns = self.namespace();
        let key = ns.keys.lease(name);
        let (holder, left_ms): (Option<String>, i64) = ns
            .conn
            .run("lease holder", |mut con| {
                let mut pipe = redis::pipe();
                pipe.atomic().cmd("GET").arg(&key).cmd("PTTL").arg(&key);
                async move { pipe.query_async(&mut con).await }
            })
            .await?;
        // PTTL is negative when the key is gone (or, never here, has no expiry).
        Ok(holder.filter(|_| left_ms > 0).map(|holder| {
            (
                holder,
                Utc::now() + chrono::TimeDelta::milliseconds(left_ms),
            )
        }))
    }

    async fn claim_slot(&self, id: &str, slot: DateTime<Utc>) -> Result<bool, TaskLogError> {
        let ns = self.namespace();
        let (slots, key) = (ns.keys.schedule_slots(id), ns.keys.schedule(id));
        let now = Utc::now().timestamp_millis();
        let claimed: i64 = ns
            .conn
            .run("claim slot", |mut con| {
                let mut invocation = ns.scripts.claim_slot.prepare_invoke();
                invocation
                    .key(&slots)
                    .key(&key)
                    .arg(slot.timestamp_millis())
                    .arg(now)
                    .arg(millis(KEEP_CLAIMS));
                async move { invocation.invoke_async(&mut con).await }
            })
            .await?;
        Ok(claimed == 1)
    }

    async fn record_slot_task(
        &self,
        id: &str,
        slot: DateTime<Utc>,
        task_id: TaskId,
    ) -> Result<(), TaskLogError> {
        let ns = self.namespace();
        let key = ns.keys.schedule(id);
        let task = task_id.to_string();
        let _: i64 = ns
            .conn
            .run("record slot task", |mut con| {
                let mut invocation = ns.scripts.record_slot.prepare_invoke();
                invocation.key(&key).arg(slot.timestamp_millis()).arg(&task);
                async move { invocation.invoke_async(&mut con).await }
            })
            .await?;
        Ok(())
    }
}
