//! [`QueuePauses`] for PostgreSQL (migration 11): one row of `paused_queues` per paused
//! named queue, on the server's clock.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{PausedQueue, QueuePauses, TaskLogError};

use crate::error::retry;
use crate::log::PostgresLog;

#[async_trait]
impl QueuePauses for PostgresLog {
    async fn set_queue_paused(&self, queue: &str, paused: bool) -> Result<bool, TaskLogError> {
        let pool = self.db().pool().await?;
        let sql = if paused {
            "INSERT INTO paused_queues (queue, since) VALUES ($1, now()) \
             ON CONFLICT (queue) DO NOTHING"
        } else {
            "DELETE FROM paused_queues WHERE queue = $1"
        };
        let done = retry("pause queue", self.db().retries(), || {
            sqlx_core::query::query(sql).bind(queue).execute(pool)
        })
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn paused_queues(&self) -> Result<Vec<PausedQueue>, TaskLogError> {
        let pool = self.db().pool().await?;
        let rows: Vec<(String, DateTime<Utc>)> =
            retry("paused queues", self.db().retries(), || {
                sqlx_core::query_as::query_as(
                    "SELECT queue, since FROM paused_queues ORDER BY queue",
                )
                .fetch_all(pool)
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|(queue, since)| PausedQueue { queue, since })
            .collect())
    }
}
