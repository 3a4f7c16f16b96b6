//! TTL for PostgreSQL: [`TaskLog::purge_before`](cogman_core::TaskLog::purge_before) deletes
//! final tasks created before a cutoff, with their events, in batches;
//! [`PostgresLog::spawn_purger`] runs it (and drops stale worker heartbeats) every so often
//! with the cutoff `now - ttl`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use cogman_core::{TaskLog as _, TaskLogError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::bounds;
use crate::db::Db;
use crate::error::{error_chain, retry};
use crate::log::PostgresLog;

/// Tasks deleted per statement, so one purge never holds many locks for long.
const BATCH: i64 = 5000;

pub(crate) async fn purge_before(db: &Db, cutoff: DateTime<Utc>) -> Result<u64, TaskLogError> {
    let cutoff = bounds::clamp(cutoff);
    let pool = db.pool().await?;
    let mut total = 0;
    loop {
        let deleted: i64 = retry("purge", db.retries(), || {
            sqlx_core::query_scalar::query_scalar(
                "WITH gone AS ( \
                     DELETE FROM tasks WHERE id IN ( \
                         SELECT id FROM tasks \
                         WHERE created_at < $1 AND status_rank = 4 LIMIT $2) \
                     RETURNING id), \
                 events AS (DELETE FROM task_events WHERE task_id IN (SELECT id FROM gone)) \
                 SELECT count(*) FROM gone",
            )
            .bind(cutoff)
            .bind(BATCH)
            .fetch_one(pool)
        })
        .await?;
        total += deleted.unsigned_abs();
        if deleted < BATCH {
            return Ok(total);
        }
    }
}

/// Deletes heartbeats older than `cutoff`; returns how many.
async fn purge_workers_before(db: &Db, cutoff: DateTime<Utc>) -> Result<u64, TaskLogError> {
    let pool = db.pool().await?;
    let done = retry("purge workers", db.retries(), || {
        sqlx_core::query::query("DELETE FROM workers WHERE last_heartbeat < $1")
            .bind(bounds::clamp(cutoff))
            .execute(pool)
    })
    .await?;
    Ok(done.rows_affected())
}

/// Deletes final tasks and worker heartbeats older than `cutoff`; returns how many of each.
async fn purge_expired(
    log: &PostgresLog,
    cutoff: DateTime<Utc>,
) -> Result<(u64, u64), TaskLogError> {
    let tasks = log.purge_before(cutoff).await?;
    let workers = purge_workers_before(log.db(), cutoff).await?;
    Ok((tasks, workers))
}

impl PostgresLog {
    /// Starts a background task that, at once and then every `every`, deletes final tasks
    /// created more than the configured TTL ago (with their events) and worker heartbeats
    /// older than the TTL. Failures are logged and retried at the next tick, so the purger may
    /// be started while PostgreSQL is down (each tick then answers at once, see
    /// [`PostgresLog::connect`]). The task ends when `shutdown` is cancelled.
    pub fn spawn_purger(&self, every: Duration, shutdown: CancellationToken) -> JoinHandle<()> {
        let log = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every.max(Duration::from_millis(1)));
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let ttl = chrono::Duration::from_std(log.config().ttl).unwrap_or(chrono::Duration::MAX);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = ticker.tick() => {}
                }
                let cutoff = Utc::now()
                    .checked_sub_signed(ttl)
                    .unwrap_or(DateTime::<Utc>::MIN_UTC);
                match purge_expired(&log, cutoff).await {
                    Ok((0, 0)) => {}
                    Ok((tasks, workers)) => {
                        tracing::info!(tasks, workers, %cutoff, "purged old final tasks and heartbeats");
                    }
                    Err(error) if error.is_transient() => tracing::info!(
                        error = %error_chain(&error),
                        "PostgreSQL is unavailable; purging again at the next tick"
                    ),
                    Err(error) => {
                        tracing::warn!(error = %error_chain(&error), "purging old tasks failed");
                    }
                }
            }
        })
    }
}
