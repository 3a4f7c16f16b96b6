//! The [`Outbox`] for PostgreSQL: claims initiated tasks for re-enqueue with one
//! `UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`, which sets a
//! lease (`claimed_until`), so concurrent claimers never get the same task and never wait on
//! each other. Only `initiated` tasks are ever returned.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{Outbox, Task, TaskLogError};

use crate::bounds;
use crate::error::retry;
use crate::log::PostgresLog;
use crate::row;

const CLAIM: &str = concat!(
    "UPDATE tasks SET claimed_until = now() + $3::float8 * interval '1 microsecond' \
     WHERE id IN ( \
         SELECT id FROM tasks \
         WHERE status = 'initiated' AND created_at < $1 \
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
        created_before: DateTime<Utc>,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Task>, TaskLogError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Whole microseconds; exact in a double for any lease shorter than 285 years.
        #[allow(clippy::cast_precision_loss)]
        let lease_us = lease.as_micros().min(u128::from(u64::MAX)) as f64;
        let pool = self.pool().await?;
        let rows = retry("claim", self.retries(), || {
            sqlx_core::query::query(CLAIM)
                .bind(bounds::clamp(created_before))
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
