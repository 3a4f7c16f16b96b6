//! Rate and concurrency limits shared by every worker, kept in the task log ([`LimitStore`]).
//!
//! A [`TaskLimit`] names a task name and gives a [`Rate`] (a generic cell rate algorithm with a
//! burst: `count` per `per`, at most `burst` at once from idle) and/or a concurrency (at most N
//! running at once, held as leases that run out, so a killed worker's slot comes back). With
//! `per_key`, each primary key of the task (`Task::primary_key`, e.g. a customer id) has a
//! bucket of its own. [`LimitStore::acquire`] decides and takes in one atomic step of the log.
//! A task refused by the rate is given a reservation (its own later slot), so a backlog of
//! waiting tasks is handed back about once each, not again and again.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::task::Task;
use crate::task_log::TaskLogError;

/// Why a limit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// The rate is not like `20/s`, `100/m` or `5/h`.
    #[error("rate {0:?} is not COUNT/UNIT with COUNT at least 1 and UNIT s, m or h (e.g. 20/s)")]
    BadRate(String),
    /// A burst of 0.
    #[error("a burst must be at least 1")]
    BadBurst,
    /// A concurrency of 0.
    #[error("a concurrency limit must be at least 1")]
    BadConcurrency,
    /// Neither a rate nor a concurrency.
    #[error("a limit needs a rate, a concurrency, or both")]
    Empty,
    /// A bad task name.
    #[error("invalid task name for a limit: {0}")]
    BadName(String),
}

/// At most `count` tasks per `per`, and at most `burst` at once after a quiet time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rate {
    /// Tasks per period.
    pub count: u32,
    /// The period, in milliseconds.
    pub per_ms: u64,
    /// Tasks that may start at once from idle (at least 1).
    pub burst: u32,
}

impl Rate {
    /// The time between two tasks at the steady rate, in microseconds (at least 1).
    pub fn interval_us(&self) -> u64 {
        (self.per_ms.saturating_mul(1000) / u64::from(self.count.max(1))).max(1)
    }
}

impl FromStr for Rate {
    type Err = LimitError;

    /// `20/s`, `100/m`, `5/h` (burst 1; set [`Rate::burst`] after).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || LimitError::BadRate(text.chars().take(40).collect());
        let (count, unit) = text.trim().split_once('/').ok_or_else(bad)?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        let per_ms = match unit.trim() {
            "s" | "sec" | "second" => 1000,
            "m" | "min" | "minute" => 60_000,
            "h" | "hour" => 3_600_000,
            _ => return Err(bad()),
        };
        if count == 0 {
            return Err(bad());
        }
        Ok(Rate {
            count,
            per_ms,
            burst: 1,
        })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per_ms {
            1000 => "s".to_owned(),
            60_000 => "m".to_owned(),
            3_600_000 => "h".to_owned(),
            other => format!("{other}ms"),
        };
        write!(f, "{}/{unit}", self.count)?;
        if self.burst > 1 {
            write!(f, " burst {}", self.burst)?;
        }
        Ok(())
    }
}

/// The limits of one task name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskLimit {
    /// The task name it applies to.
    pub name: String,
    /// How many may start per period.
    pub rate: Option<Rate>,
    /// How many may run at once.
    pub concurrency: Option<u32>,
    /// One bucket per primary key of the task instead of one for the name.
    #[serde(default)]
    pub per_key: bool,
}

impl TaskLimit {
    /// Checks the limit before it is stored.
    ///
    /// # Errors
    /// The first [`LimitError`] found.
    pub fn validate(&self, limits: &crate::task::Limits) -> Result<(), LimitError> {
        crate::task::validate_name(&self.name, limits)
            .map_err(|e| LimitError::BadName(e.to_string()))?;
        if self.rate.is_none() && self.concurrency.is_none() {
            return Err(LimitError::Empty);
        }
        if let Some(rate) = self.rate {
            if rate.count == 0 || rate.per_ms == 0 {
                return Err(LimitError::BadRate(rate.to_string()));
            }
            if rate.burst == 0 {
                return Err(LimitError::BadBurst);
            }
        }
        if self.concurrency == Some(0) {
            return Err(LimitError::BadConcurrency);
        }
        Ok(())
    }

    /// The bucket `task` counts in: the name, or the name and the primary key with `per_key`.
    pub fn bucket(&self, task: &Task) -> String {
        match (&task.primary_key, self.per_key) {
            (Some(key), true) => format!("{}{KEY_SEPARATOR}{key}", self.name),
            _ => self.name.clone(),
        }
    }
}

/// Between the name and the primary key in a per-key bucket's name (a control character, so
/// no task name contains it): the buckets of a name are those equal to it or starting with
/// it and this.
pub const KEY_SEPARATOR: char = '\u{1f}';

/// Which limit makes a task wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// The rate's tokens are spent.
    Rate,
    /// As many as allowed run now.
    Concurrency,
}

/// The answer of [`LimitStore::acquire`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Run it (a concurrency lease is held when the limit has one).
    Admitted,
    /// Try again after `after`.
    Wait {
        /// How long to wait.
        after: Duration,
        /// Why.
        reason: WaitReason,
    },
}

/// How long a task waits for a concurrency slot before it asks again: slots free up when
/// tasks end, which the store cannot announce, so waiting tasks ask again at this pace.
pub const CONCURRENCY_RECHECK: Duration = Duration::from_millis(500);

/// `after` plus a random part of it (up to doubling it), so tasks told to wait the same time
/// do not all come back at once.
pub fn spread(after: Duration) -> Duration {
    after + after.mul_f64(rand::random::<f64>())
}

/// Stores limits and admits tasks under them (optional ability of a task log).
#[async_trait]
pub trait LimitStore: Send + Sync {
    /// Stores `limit`, replacing the one of its name (its buckets are kept).
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`].
    async fn put_limit(&self, limit: &TaskLimit) -> Result<(), TaskLogError>;

    /// Every limit, by name.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`]; [`TaskLogError::Corrupt`].
    async fn limits(&self) -> Result<Vec<TaskLimit>, TaskLogError>;

    /// Removes the limit of `name` and its buckets; false when there was none.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`].
    async fn remove_limit(&self, name: &str) -> Result<bool, TaskLogError>;

    /// In one atomic step: with a concurrency, counts the unexpired leases of `bucket` (not
    /// `holder`'s) and answers [`WaitReason::Concurrency`] when they are at the limit. With a
    /// rate: a `holder` with a reservation whose time has come spends it; one whose time has
    /// not come waits for it ([`WaitReason::Rate`]); any other runs [`gcra`], and a refused
    /// start is reserved for `holder` and waited for. Admitted, it takes a lease for `holder`
    /// until `lease` from now (with a concurrency) and answers [`Admission::Admitted`].
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`].
    async fn acquire(
        &self,
        bucket: &str,
        limit: &TaskLimit,
        holder: &str,
        lease: Duration,
    ) -> Result<Admission, TaskLogError>;

    /// Extends `holder`'s lease of `bucket` to `lease` from now (a running task).
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`].
    async fn renew(&self, bucket: &str, holder: &str, lease: Duration) -> Result<(), TaskLogError>;

    /// Gives `holder`'s lease of `bucket` back (the task ended).
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`].
    async fn release(&self, bucket: &str, holder: &str) -> Result<(), TaskLogError>;
}

/// What the generic cell rate algorithm says about one more start in a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateStep {
    /// Start now, and store `tat` as the bucket's new theoretical arrival time.
    Start {
        /// The new theoretical arrival time (ns since the epoch).
        tat: i64,
    },
    /// Not now: store `tat`, and reserve the start at `at` for this task (so waiting tasks
    /// get one slot each instead of all asking again at the same moment).
    Reserve {
        /// The new theoretical arrival time (ns since the epoch).
        tat: i64,
        /// When the reserved start is allowed (ns since the epoch).
        at: i64,
    },
}

/// The generic cell rate algorithm on one bucket, in nanoseconds since the epoch: given the
/// stored theoretical arrival time `tat` (none for a fresh bucket) and `now`, a start is
/// allowed when `tat - (burst - 1) × interval <= now`; either way the bucket's time moves one
/// interval on (a refused start is reserved for later). Every store runs this rule; the Redis
/// script holds the same arithmetic in Lua.
pub fn gcra(rate: Rate, tat: Option<i64>, now: i64) -> RateStep {
    let interval = i64::try_from(rate.interval_us().saturating_mul(1000)).unwrap_or(i64::MAX);
    let tolerance = interval.saturating_mul(i64::from(rate.burst.max(1)) - 1);
    let tat = tat.unwrap_or(now).max(now);
    let allowed_at = tat.saturating_sub(tolerance);
    let next = tat.saturating_add(interval);
    if allowed_at <= now {
        RateStep::Start { tat: next }
    } else {
        RateStep::Reserve {
            tat: next,
            at: allowed_at,
        }
    }
}

/// The time from `now` to `at` (both ns since the epoch), zero when passed.
pub fn until(at: i64, now: i64) -> Duration {
    Duration::from_nanos(u64::try_from(at.saturating_sub(now)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print() {
        let rate: Rate = "20/s".parse().expect("rate");
        assert_eq!((rate.count, rate.per_ms, rate.burst), (20, 1000, 1));
        assert_eq!(rate.to_string(), "20/s");
        assert_eq!("100/m".parse::<Rate>().expect("rate").per_ms, 60_000);
        for bad in ["0/s", "20", "20/d", "x/s", "-1/s"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn gcra_allows_the_burst_then_the_steady_rate() {
        let rate = Rate {
            count: 10,
            per_ms: 1000,
            burst: 3,
        };
        let step = 100_000_000; // 100 ms in ns
        let now = 1_000_000_000_000;
        let mut tat = None;
        for _ in 0..3 {
            match gcra(rate, tat, now) {
                RateStep::Start { tat: next } => tat = Some(next),
                refused => panic!("within the burst: {refused:?}"),
            }
        }
        // The burst is spent: the next two are reserved an interval apart.
        let RateStep::Reserve { tat: next, at } = gcra(rate, tat, now) else {
            panic!("reserved");
        };
        assert_eq!(until(at, now), Duration::from_millis(100));
        let RateStep::Reserve { at: second, .. } = gcra(rate, Some(next), now) else {
            panic!("reserved");
        };
        assert_eq!(second - at, step);
        // After a quiet time, it starts at once again.
        assert!(matches!(
            gcra(rate, Some(next), now + 10 * step),
            RateStep::Start { .. }
        ));
    }
}
