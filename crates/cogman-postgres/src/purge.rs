//! TTL for PostgreSQL: [`TaskLog::purge_before`](cogman_core::TaskLog::purge_before) deletes
//! final tasks created before a cutoff whose chain of attempts has none unfinished, with their
//! events, in batches, and worker heartbeats
//! older than the cutoff. One purge of a schema runs at a time across every process: the purge
//! holds a session advisory lock (keyed by the schema) for its length, and a purge that finds
//! it taken returns 0 at once, since the one running deletes the same tasks. The facade's
//! `Retention` calls it every `purge_interval` from each worker and API server.

use chrono::{DateTime, Utc};
use sqlx_core::pool::PoolConnection;
use sqlx_postgres::Postgres;

use cogman_core::TaskLogError;

use crate::bounds;
use crate::db::Db;
use crate::error::{into_log_error, retry};

/// Tasks deleted per statement, so one purge never holds many locks for long.
const BATCH: i64 = 5000;

/// Takes the advisory lock of the purge of the connection's schema (its `search_path`), keyed
/// by `hashtext('cogman purge <schema>')`, if no other session holds it.
const TRY_LOCK: &str = "SELECT pg_try_advisory_lock(hashtext('cogman purge ' || current_schema()))";
/// Releases the lock of [`TRY_LOCK`].
const UNLOCK: &str = "SELECT pg_advisory_unlock(hashtext('cogman purge ' || current_schema()))";

/// The advisory lock held for the length of one purge; `None` when another session holds it.
async fn try_lock(db: &Db) -> Result<Option<PoolConnection<Postgres>>, TaskLogError> {
    let pool = db.pool().await?;
    let mut conn = pool.acquire().await.map_err(into_log_error)?;
    let locked: bool = sqlx_core::query_scalar::query_scalar(TRY_LOCK)
        .fetch_one(&mut *conn)
        .await
        .map_err(into_log_error)?;
    Ok(locked.then_some(conn))
}

/// Releases the lock of [`try_lock`]; a connection that cannot release it is closed, which
/// releases it too.
async fn unlock(mut conn: PoolConnection<Postgres>) {
    let released = sqlx_core::query::query(UNLOCK).execute(&mut *conn).await;
    if let Err(error) = released {
        tracing::debug!(%error, "could not release the purge lock; closing its connection");
        drop(conn.detach());
    }
}

pub(crate) async fn purge_before(db: &Db, cutoff: DateTime<Utc>) -> Result<u64, TaskLogError> {
    let Some(lock) = try_lock(db).await? else {
        tracing::debug!("another process is purging this log");
        return Ok(0);
    };
    let purged = purge_locked(db, bounds::clamp(cutoff)).await;
    unlock(lock).await;
    purged
}

/// Deletes final tasks (with their events) and worker heartbeats older than `cutoff`; returns
/// how many tasks. An attempt of a chain whose newer attempt still waits or runs is kept.
async fn purge_locked(db: &Db, cutoff: DateTime<Utc>) -> Result<u64, TaskLogError> {
    let pool = db.pool().await?;
    let mut total = 0;
    loop {
        let deleted: i64 = retry("purge", db.retries(), || {
            sqlx_core::query_scalar::query_scalar(
                "WITH gone AS ( \
                     DELETE FROM tasks WHERE id IN ( \
                         SELECT id FROM tasks t \
                         WHERE created_at < $1 AND status_rank = 4 \
                         AND NOT EXISTS (SELECT 1 FROM tasks o \
                             WHERE o.original_task_id = t.original_task_id \
                             AND o.status_rank < 4) \
                         LIMIT $2) \
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
            break;
        }
    }
    retry("purge workers", db.retries(), || {
        sqlx_core::query::query("DELETE FROM workers WHERE last_heartbeat < $1")
            .bind(cutoff)
            .execute(pool)
    })
    .await?;
    Ok(total)
}
