//! [`WorkerRegistry`] for PostgreSQL: one row per worker in `workers`, upserted by each
//! heartbeat; stale rows are deleted by the purger.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{TaskLogError, WorkerInfo, WorkerRegistry};

use crate::bounds;
use crate::error::retry;
use crate::log::PostgresLog;
use crate::row;
use crate::writer::pg_text;

#[async_trait]
impl WorkerRegistry for PostgresLog {
    async fn heartbeat(&self, info: &WorkerInfo) -> Result<(), TaskLogError> {
        let handlers: Vec<String> = info.handlers.iter().map(|h| pg_text(h)).collect();
        let queues: Vec<String> = info.queues.iter().map(|q| pg_text(q)).collect();
        let pool = self.db().pool().await?;
        retry("heartbeat", self.db().retries(), || {
            sqlx_core::query::query(
                "INSERT INTO workers (id, host, pid, concurrency, in_flight, handlers, started_at, \
                                      last_heartbeat, queues) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, \
                     concurrency = excluded.concurrency, in_flight = excluded.in_flight, \
                     handlers = excluded.handlers, queues = excluded.queues, \
                     started_at = excluded.started_at, \
                     last_heartbeat = greatest(workers.last_heartbeat, excluded.last_heartbeat)",
            )
            .bind(pg_text(&info.id))
            .bind(pg_text(&info.host))
            .bind(i64::from(info.pid))
            .bind(i64::from(info.concurrency))
            .bind(i64::from(info.in_flight))
            .bind(&handlers)
            .bind(bounds::clamp(info.started_at))
            .bind(bounds::clamp(info.last_heartbeat))
            .bind(&queues)
            .execute(pool)
        })
        .await
        .map(drop)
    }

    async fn deregister(&self, worker_id: &str) -> Result<(), TaskLogError> {
        let pool = self.db().pool().await?;
        retry("deregister", self.db().retries(), || {
            sqlx_core::query::query("DELETE FROM workers WHERE id = $1")
                .bind(pg_text(worker_id))
                .execute(pool)
        })
        .await
        .map(drop)
    }

    async fn workers(&self, since: DateTime<Utc>) -> Result<Vec<WorkerInfo>, TaskLogError> {
        let pool = self.db().pool().await?;
        let rows = retry("workers", self.db().retries(), || {
            sqlx_core::query::query(
                "SELECT id, host, pid, concurrency, in_flight, handlers, queues, started_at, \
                 last_heartbeat FROM workers WHERE last_heartbeat >= $1 ORDER BY id",
            )
            .bind(bounds::clamp(since))
            .fetch_all(pool)
        })
        .await?;
        rows.iter().map(row::worker).collect()
    }
}
