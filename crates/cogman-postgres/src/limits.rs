//! [`LimitStore`] for PostgreSQL (migration 12): limits in `task_limits`, the rate state of
//! each bucket in `limit_buckets`, reserved starts in `limit_reservations`, running tasks in
//! `limit_leases`. `acquire` is one
//! transaction that first locks the bucket's row (`INSERT … ON CONFLICT DO NOTHING`, then
//! `SELECT … FOR UPDATE`), so concurrent acquirers of one bucket, in any process, take turns;
//! times are the server's clock, in microseconds.

use std::time::Duration;

use async_trait::async_trait;
use cogman_core::limits::{CONCURRENCY_RECHECK, KEY_SEPARATOR, RateStep, gcra, until};
use cogman_core::{Admission, LimitStore, TaskLimit, TaskLogError, WaitReason};

use crate::error::retry;
use crate::log::PostgresLog;

fn micros(d: Duration) -> i64 {
    i64::try_from(d.as_micros()).unwrap_or(i64::MAX)
}

/// A reservation this far in the past belongs to a task that never came back for it.
const STALE_RESERVATION_US: i64 = 3600 * 1_000_000;

/// The server's clock, in microseconds since the epoch (a macro, so statements stay literals).
macro_rules! now_us {
    () => {
        "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint"
    };
}

#[async_trait]
impl LimitStore for PostgresLog {
    async fn put_limit(&self, limit: &TaskLimit) -> Result<(), TaskLogError> {
        let json = serde_json::to_string(limit).map_err(|e| TaskLogError::Other(Box::new(e)))?;
        let pool = self.db().pool().await?;
        retry("put limit", self.db().retries(), || {
            sqlx_core::query::query(
                "INSERT INTO task_limits (name, definition) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET definition = EXCLUDED.definition",
            )
            .bind(&limit.name)
            .bind(&json)
            .execute(pool)
        })
        .await?;
        Ok(())
    }

    async fn limits(&self) -> Result<Vec<TaskLimit>, TaskLogError> {
        let pool = self.db().pool().await?;
        let rows: Vec<(String, String)> = retry("limits", self.db().retries(), || {
            sqlx_core::query_as::query_as("SELECT name, definition FROM task_limits ORDER BY name")
                .fetch_all(pool)
        })
        .await?;
        rows.into_iter()
            .map(|(name, json)| {
                serde_json::from_str(&json).map_err(|e| TaskLogError::Corrupt {
                    id: format!("limit {name}"),
                    reason: e.to_string(),
                })
            })
            .collect()
    }

    async fn remove_limit(&self, name: &str) -> Result<bool, TaskLogError> {
        let pool = self.db().pool().await?;
        let prefix = format!("{name}{KEY_SEPARATOR}");
        let removed: i64 = retry("remove limit", self.db().retries(), || {
            sqlx_core::query_scalar::query_scalar(
                "WITH buckets AS (DELETE FROM limit_buckets WHERE bucket = $1 OR starts_with(bucket, $2)), \
                 leases AS (DELETE FROM limit_leases WHERE bucket = $1 OR starts_with(bucket, $2)), \
                 reserved AS (DELETE FROM limit_reservations WHERE bucket = $1 OR starts_with(bucket, $2)), \
                 gone AS (DELETE FROM task_limits WHERE name = $1 RETURNING name) \
                 SELECT count(*) FROM gone",
            )
            .bind(name)
            .bind(&prefix)
            .fetch_one(pool)
        })
        .await?;
        Ok(removed > 0)
    }

    async fn acquire(
        &self,
        bucket: &str,
        limit: &TaskLimit,
        holder: &str,
        lease: Duration,
    ) -> Result<Admission, TaskLogError> {
        let pool = self.db().pool().await?;
        let lease_us = micros(lease);
        retry("acquire limit", self.db().retries(), || async {
            let mut tx = pool.begin().await?;
            sqlx_core::query::query(
                "INSERT INTO limit_buckets (bucket, tat) VALUES ($1, NULL) ON CONFLICT DO NOTHING",
            )
            .bind(bucket)
            .execute(&mut *tx)
            .await?;
            let (tat_us, now_us): (Option<i64>, i64) = sqlx_core::query_as::query_as(concat!(
                "SELECT tat, ",
                now_us!(),
                " FROM limit_buckets WHERE bucket = $1 FOR UPDATE"
            ))
            .bind(bucket)
            .fetch_one(&mut *tx)
            .await?;
            if let Some(max) = limit.concurrency {
                let running: i64 = sqlx_core::query_scalar::query_scalar(
                    "SELECT count(*) FROM limit_leases WHERE bucket = $1 AND holder <> $2 \
                     AND expires_us > $3",
                )
                .bind(bucket)
                .bind(holder)
                .bind(now_us)
                .fetch_one(&mut *tx)
                .await?;
                if running >= i64::from(max) {
                    tx.rollback().await?;
                    return Ok(Admission::Wait {
                        after: CONCURRENCY_RECHECK,
                        reason: WaitReason::Concurrency,
                    });
                }
            }
            if let Some(rate) = limit.rate {
                let now_ns = now_us.saturating_mul(1000);
                let reserved: Option<i64> = sqlx_core::query_scalar::query_scalar(
                    "DELETE FROM limit_reservations WHERE bucket = $1 AND holder = $2 RETURNING at_us",
                )
                .bind(bucket)
                .bind(holder)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(at_us) = reserved {
                    if at_us > now_us {
                        tx.rollback().await?;
                        return Ok(Admission::Wait {
                            after: until(at_us.saturating_mul(1000), now_ns),
                            reason: WaitReason::Rate,
                        });
                    }
                } else {
                    let step = gcra(rate, tat_us.map(|t| t.saturating_mul(1000)), now_ns);
                    let (RateStep::Start { tat } | RateStep::Reserve { tat, .. }) = step;
                    sqlx_core::query::query("UPDATE limit_buckets SET tat = $2 WHERE bucket = $1")
                        .bind(bucket)
                        .bind(tat / 1000)
                        .execute(&mut *tx)
                        .await?;
                    if let RateStep::Reserve { at, .. } = step {
                        sqlx_core::query::query(
                            "DELETE FROM limit_reservations WHERE bucket = $1 AND at_us < $2",
                        )
                        .bind(bucket)
                        .bind(now_us.saturating_sub(STALE_RESERVATION_US))
                        .execute(&mut *tx)
                        .await?;
                        sqlx_core::query::query(
                            "INSERT INTO limit_reservations (bucket, holder, at_us) VALUES ($1, $2, $3)",
                        )
                        .bind(bucket)
                        .bind(holder)
                        .bind(at / 1000)
                        .execute(&mut *tx)
                        .await?;
                        tx.commit().await?;
                        return Ok(Admission::Wait {
                            after: until(at, now_ns),
                            reason: WaitReason::Rate,
                        });
                    }
                }
            }
            if limit.concurrency.is_some() {
                sqlx_core::query::query(
                    "DELETE FROM limit_leases WHERE bucket = $1 AND expires_us <= $2",
                )
                .bind(bucket)
                .bind(now_us)
                .execute(&mut *tx)
                .await?;
                sqlx_core::query::query(
                    "INSERT INTO limit_leases (bucket, holder, expires_us) VALUES ($1, $2, $3) \
                     ON CONFLICT (bucket, holder) DO UPDATE SET expires_us = EXCLUDED.expires_us",
                )
                .bind(bucket)
                .bind(holder)
                .bind(now_us.saturating_add(lease_us))
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(Admission::Admitted)
        })
        .await
    }

    async fn renew(&self, bucket: &str, holder: &str, lease: Duration) -> Result<(), TaskLogError> {
        let pool = self.db().pool().await?;
        let lease_us = micros(lease);
        retry("renew limit lease", self.db().retries(), || {
            sqlx_core::query::query(concat!(
                "UPDATE limit_leases SET expires_us = ",
                now_us!(),
                " + $3 WHERE bucket = $1 AND holder = $2"
            ))
            .bind(bucket)
            .bind(holder)
            .bind(lease_us)
            .execute(pool)
        })
        .await?;
        Ok(())
    }

    async fn release(&self, bucket: &str, holder: &str) -> Result<(), TaskLogError> {
        let pool = self.db().pool().await?;
        retry("release limit lease", self.db().retries(), || {
            sqlx_core::query::query("DELETE FROM limit_leases WHERE bucket = $1 AND holder = $2")
                .bind(bucket)
                .bind(holder)
                .execute(pool)
        })
        .await?;
        Ok(())
    }
}
