//! Time in the database: integer nanoseconds since the Unix epoch. Instants outside what an
//! `i64` of nanoseconds holds (before 1677, after 2262) are clamped.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// `at` as stored.
pub(crate) fn to_ns(at: DateTime<Utc>) -> i64 {
    at.timestamp_nanos_opt().unwrap_or(if at.timestamp() < 0 {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// A stored time back as a `DateTime`.
pub(crate) fn from_ns(ns: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_nanos(ns)
}

/// Now, as stored.
pub(crate) fn now_ns() -> i64 {
    to_ns(Utc::now())
}

/// A duration in nanoseconds (saturating).
pub(crate) fn duration_ns(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}
