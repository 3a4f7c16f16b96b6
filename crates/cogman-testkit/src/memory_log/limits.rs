//! The [`LimitStore`] ability of [`MemoryLog`]: limits by name, and per bucket its rate state,
//! reservations and leases, all under the log's one mutex (so `acquire` is atomic).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use cogman_core::limits::{CONCURRENCY_RECHECK, KEY_SEPARATOR, RateStep, gcra, until};
use cogman_core::{Admission, LimitStore, TaskLimit, TaskLogError, WaitReason};

use super::MemoryLog;

/// What the limits keep.
#[derive(Debug, Default)]
pub(super) struct Limits {
    limits: BTreeMap<String, TaskLimit>,
    /// Bucket → theoretical arrival time (ns).
    tat: HashMap<String, i64>,
    /// (bucket, holder) → reserved start (ns).
    reserved: HashMap<(String, String), i64>,
    /// (bucket, holder) → lease expiry (ns).
    leases: HashMap<(String, String), i64>,
}

fn now_ns() -> i64 {
    Utc::now().timestamp_nanos_opt().unwrap_or(i64::MAX)
}

fn ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

#[async_trait]
impl LimitStore for MemoryLog {
    async fn put_limit(&self, limit: &TaskLimit) -> Result<(), TaskLogError> {
        self.state()
            .limits
            .limits
            .insert(limit.name.clone(), limit.clone());
        Ok(())
    }

    async fn limits(&self) -> Result<Vec<TaskLimit>, TaskLogError> {
        Ok(self.state().limits.limits.values().cloned().collect())
    }

    async fn remove_limit(&self, name: &str) -> Result<bool, TaskLogError> {
        let mut state = self.state();
        let limits = &mut state.limits;
        let prefix = format!("{name}{KEY_SEPARATOR}");
        let ours = |bucket: &str| bucket == name || bucket.starts_with(&prefix);
        limits.tat.retain(|bucket, _| !ours(bucket));
        limits.reserved.retain(|(bucket, _), _| !ours(bucket));
        limits.leases.retain(|(bucket, _), _| !ours(bucket));
        Ok(limits.limits.remove(name).is_some())
    }

    async fn acquire(
        &self,
        bucket: &str,
        limit: &TaskLimit,
        holder: &str,
        lease: Duration,
    ) -> Result<Admission, TaskLogError> {
        let mut state = self.state();
        let limits = &mut state.limits;
        let now = now_ns();
        let key = (bucket.to_owned(), holder.to_owned());
        if let Some(max) = limit.concurrency {
            let running = limits
                .leases
                .iter()
                .filter(|((b, h), expiry)| b == bucket && h != holder && **expiry > now)
                .count();
            if running >= max as usize {
                return Ok(Admission::Wait {
                    after: CONCURRENCY_RECHECK,
                    reason: WaitReason::Concurrency,
                });
            }
        }
        if let Some(rate) = limit.rate {
            if let Some(&at) = limits.reserved.get(&key) {
                if at > now {
                    return Ok(Admission::Wait {
                        after: until(at, now),
                        reason: WaitReason::Rate,
                    });
                }
                limits.reserved.remove(&key);
            } else {
                let step = gcra(rate, limits.tat.get(bucket).copied(), now);
                let (RateStep::Start { tat } | RateStep::Reserve { tat, .. }) = step;
                limits.tat.insert(bucket.to_owned(), tat);
                if let RateStep::Reserve { at, .. } = step {
                    limits.reserved.insert(key, at);
                    return Ok(Admission::Wait {
                        after: until(at, now),
                        reason: WaitReason::Rate,
                    });
                }
            }
        }
        if limit.concurrency.is_some() {
            limits.leases.retain(|_, expiry| *expiry > now);
            limits.leases.insert(key, now.saturating_add(ns(lease)));
        }
        Ok(Admission::Admitted)
    }

    async fn renew(&self, bucket: &str, holder: &str, lease: Duration) -> Result<(), TaskLogError> {
        let mut state = self.state();
        if let Some(expiry) = state
            .limits
            .leases
            .get_mut(&(bucket.to_owned(), holder.to_owned()))
        {
            *expiry = now_ns().saturating_add(ns(lease));
        }
        Ok(())
    }

    async fn release(&self, bucket: &str, holder: &str) -> Result<(), TaskLogError> {
        self.state()
            .limits
            .leases
            .remove(&(bucket.to_owned(), holder.to_owned()));
        Ok(())
    }
}
