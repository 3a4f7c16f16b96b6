//! Timestamps PostgreSQL can store: `timestamptz` spans 4713 BC to 294276 AD, while
//! `chrono` goes further (e.g. `CountQuery::all()` starts at `DateTime::MIN_UTC`). Query
//! bounds are clamped into a range that holds every real task.

use chrono::{DateTime, NaiveDate, Utc};
use cogman_core::TaskId;

/// `at`, clamped to years -4000 ..= 200000.
pub(crate) fn clamp(at: DateTime<Utc>) -> DateTime<Utc> {
    let low = NaiveDate::from_ymd_opt(-4000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .expect("invariant: year -4000 is a valid date");
    let high = NaiveDate::from_ymd_opt(200_000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .expect("invariant: year 200000 is a valid date");
    at.clamp(low, high)
}

/// The last microsecond of the millisecond a UUID v7 was made in: where a cursor whose task
/// is gone sits in list order.
pub(crate) fn id_time(id: TaskId) -> DateTime<Utc> {
    id.as_uuid()
        .get_timestamp()
        .and_then(|ts| {
            let (secs, nanos) = ts.to_unix();
            let ms_nanos = nanos / 1_000_000 * 1_000_000 + 999_000;
            DateTime::from_timestamp(i64::try_from(secs).ok()?, ms_nanos)
        })
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extremes_are_clamped_and_real_times_kept() {
        let now = Utc::now();
        assert_eq!(clamp(now), now);
        assert!(clamp(DateTime::<Utc>::MIN_UTC) > DateTime::<Utc>::MIN_UTC);
        assert!(clamp(DateTime::<Utc>::MAX_UTC) < DateTime::<Utc>::MAX_UTC);
    }

    #[test]
    fn a_vanished_cursor_is_placed_by_its_id_time() {
        let id = TaskId::new();
        let gap = id_time(id) - Utc::now();
        assert!(gap.num_seconds().abs() < 2, "{gap}");
    }
}
