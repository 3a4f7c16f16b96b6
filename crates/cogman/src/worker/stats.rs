//! [`WorkerStats`]: counters a worker keeps about what it ran, for the CLI, benchmarks and
//! metrics.

use std::sync::atomic::{AtomicU64, Ordering};

use cogman_core::TaskState;
use serde::Serialize;

/// Counters since the worker started.
#[derive(Debug, Default)]
pub struct WorkerStats {
    succeeded: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    cancelled: AtomicU64,
    duplicates: AtomicU64,
    deferred: AtomicU64,
    errors: AtomicU64,
    in_flight: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Attempts that ended `success`.
    pub succeeded: u64,
    /// Attempts that ended `failed`.
    pub failed: u64,
    /// Attempts that ended `retry` (a new attempt was sent).
    pub retried: u64,
    /// Attempts that ended `cancelled`.
    pub cancelled: u64,
    /// Successes of a task that had already succeeded (duplicate deliveries).
    pub duplicates: u64,
    /// Deliveries handed back because this worker has no handler for their name.
    pub deferred: u64,
    /// Backend errors while settling (the task was left to be delivered again).
    pub errors: u64,
    /// Tasks running now.
    pub in_flight: u64,
}

impl WorkerStats {
    pub(crate) fn record(&self, state: TaskState) {
        let counter = match state {
            TaskState::Success => &self.succeeded,
            TaskState::Failed => &self.failed,
            TaskState::Retry => &self.retried,
            TaskState::Cancelled => &self.cancelled,
            _ => return,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_duplicate(&self) {
        self.duplicates.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_deferred(&self) {
        self.deferred.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn finished(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// The counters now.
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            succeeded: self.succeeded.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
            cancelled: self.cancelled.load(Ordering::Relaxed),
            duplicates: self.duplicates.load(Ordering::Relaxed),
            deferred: self.deferred.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
            in_flight: self.in_flight.load(Ordering::Relaxed),
        }
    }
}
