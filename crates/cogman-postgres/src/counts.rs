//! [`TaskLog::counts`](cogman_core::TaskLog::counts) for PostgreSQL — the seed's
//! `/daterangecount`: one `GROUP BY` over tasks created in the range, by bucket (integer
//! arithmetic on `created_at` in microseconds) and state.

use chrono::DateTime;
use cogman_core::{BucketCount, CountQuery, TaskLogError, TaskState};
use sqlx_core::row::Row as _;

use crate::bounds;
use crate::db::Db;
use crate::error::retry;

pub(crate) async fn counts(db: &Db, query: &CountQuery) -> Result<Vec<BucketCount>, TaskLogError> {
    query.validate()?;
    let width = query.bucket.map_or(i64::MAX, |b| {
        i64::try_from(b.as_micros()).unwrap_or(i64::MAX).max(1)
    });
    let origin = query.from.timestamp_micros();
    let pool = db.pool().await?;
    let rows = retry("counts", db.retries(), || {
        sqlx_core::query::query(
            "SELECT (floor(extract(epoch FROM created_at) * 1000000)::bigint - $3) / $4 AS bucket, \
                    status, count(*) AS n \
             FROM tasks WHERE created_at >= $1 AND created_at < $2 \
             GROUP BY 1, 2 ORDER BY 1",
        )
        .bind(bounds::clamp(query.from))
        .bind(bounds::clamp(query.to))
        .bind(origin)
        .bind(width)
        .fetch_all(pool)
    })
    .await?;
    let mut buckets: Vec<BucketCount> = Vec::new();
    for row in &rows {
        let other = |e| TaskLogError::Other(Box::new(e));
        let index: i64 = row.try_get("bucket").map_err(other)?;
        let status: String = row.try_get("status").map_err(other)?;
        let n: i64 = row.try_get("n").map_err(other)?;
        let state: TaskState = status
            .parse()
            .map_err(|e: cogman_core::state::UnknownState| {
                TaskLogError::Other(e.to_string().into())
            })?;
        let start = if query.bucket.is_none() {
            query.from
        } else {
            query
                .from
                .checked_add_signed(chrono::Duration::microseconds(index.saturating_mul(width)))
                .unwrap_or(DateTime::<chrono::Utc>::MAX_UTC)
        };
        match buckets.last_mut() {
            Some(last) if last.start == start => last.counts.add(state, n.unsigned_abs()),
            _ => {
                let mut bucket = BucketCount {
                    start,
                    counts: Default::default(),
                };
                bucket.counts.add(state, n.unsigned_abs());
                buckets.push(bucket);
            }
        }
    }
    Ok(buckets)
}
