//! The [`Outbox`] for PostgreSQL: claims initiated tasks for re-enqueue with one
//! `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`, which sets a
//! lease (`claimed_until`), so concurrent claimers never get the same task and never wait on
//! each other. Only `initiated` tasks are ever returned. Ages are measured by the server's
//! clock, from `recorded_at` (migration 5), so clients whose clocks disagree agree on them.

use std::time::Duration;

use async_trait::async_trait;
use cogman_core::{Outbox, Task, TaskLogError};

use crate::error::retry;
use crate::log::PostgresLog;
use crate::row;

const CLAIM: &str = concat!(
    "UPDATE tasks SET claimed_until = now() + $3::float8 * interval '1 microsecond' \
     WHERE id IN ( \
         SELECT id FROM tasks \
         WHERE status = 'initiated' \
           AND recorded_at < now() - $1::float8 * interval '1 microsecond' \
           AND (claimed_until IS NULL OR claimed_until < now()) \
         ORDER BY id LIMIT $2 \
         FOR UPDATE SKIP LOCKED) \
     RETURNING ",
    row::task_columns!()
);

#[async_trait]
impl Outbox for PostgresLog {
    async fn claim_unpublished(
        &self,
        min_age: Duration,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Task>, TaskLogError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (min_age_us, lease_us) = (micros(min_age), micros(lease));
        let pool = self.db().pool().await?;
        let rows = retry("claim", self.db().retries(), || {
            sqlx_core::query::query(CLAIM)
                .bind(min_age_us)
                .bind(i64::from(limit))
                .bind(lease_us)
                .fetch_all(pool)
        })
        .await?;
        let mut tasks: Vec<Task> = rows.iter().map(row::task).collect::<Result<_, _>>()?;
        tasks.sort_by_key(|task| task.id);
        Ok(tasks)
    }
}

/// Whole microseconds, as PostgreSQL multiplies an interval by them; exact in a double for
/// any duration shorter than 285 years.
fn micros(duration: Duration) -> f64 {
    duration.as_micros().min(u128::from(u64::MAX)) as f64
}
