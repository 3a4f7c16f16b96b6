//! The [`LimitStore`] ability: limits in `task_limits`, the rate state of each bucket in
//! `limit_buckets`, reserved starts in `limit_reservations`, running tasks in `limit_leases`. `acquire` reads and writes in the
//! writer's `BEGIN IMMEDIATE` transaction, so it is one atomic step across every process on
//! the file.

use std::time::Duration;

use async_trait::async_trait;
use cogman_core::limits::{CONCURRENCY_RECHECK, KEY_SEPARATOR, RateStep, gcra, until};
use cogman_core::{Admission, LimitStore, TaskLimit, TaskLogError, WaitReason};
use rusqlite::{OptionalExtension, params};

use crate::error::SqliteError;
use crate::store::SqliteStore;
use crate::time::{duration_ns, now_ns};

/// A reservation this far in the past belongs to a task that never came back for it.
const STALE_RESERVATION_NS: i64 = 3600 * 1_000_000_000;

#[async_trait]
impl LimitStore for SqliteStore {
    async fn put_limit(&self, limit: &TaskLimit) -> Result<(), TaskLogError> {
        let json = serde_json::to_string(limit).map_err(|source| SqliteError::Encode {
            what: "limit",
            source,
        })?;
        let name = limit.name.clone();
        self.writer()
            .run(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO task_limits (name, definition) VALUES (?1, ?2) \
                     ON CONFLICT (name) DO UPDATE SET definition = excluded.definition",
                )?
                .execute(params![name, json])?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn limits(&self) -> Result<Vec<TaskLimit>, TaskLogError> {
        let all = self
            .reader()
            .run(move |conn| {
                let mut stmt =
                    conn.prepare_cached("SELECT name, definition FROM task_limits ORDER BY name")?;
                let rows = stmt.query_map([], |row| {
                    Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
                })?;
                let mut out = Vec::new();
                for row in rows {
                    let (name, json) = row?;
                    out.push(
                        serde_json::from_str(&json).map_err(|e| SqliteError::Corrupt {
                            id: format!("limit {name}"),
                            reason: e.to_string(),
                        })?,
                    );
                }
                Ok(out)
            })
            .await?;
        Ok(all)
    }

    async fn remove_limit(&self, name: &str) -> Result<bool, TaskLogError> {
        let name = name.to_owned();
        let removed = self
            .writer()
            .run(move |conn| {
                let prefix = format!("{name}{KEY_SEPARATOR}");
                let n = conn
                    .prepare_cached("DELETE FROM task_limits WHERE name = ?1")?
                    .execute([&name])?;
                for table in ["limit_buckets", "limit_leases", "limit_reservations"] {
                    conn.prepare_cached(&format!(
                        "DELETE FROM {table} WHERE bucket = ?1 OR substr(bucket, 1, length(?2)) = ?2"
                    ))?
                    .execute(params![name, prefix])?;
                }
                Ok(n > 0)
            })
            .await?;
        Ok(removed)
    }

    async fn acquire(
        &self,
        bucket: &str,
        limit: &TaskLimit,
        holder: &str,
        lease: Duration,
    ) -> Result<Admission, TaskLogError> {
        let (bucket, holder, limit) = (bucket.to_owned(), holder.to_owned(), limit.clone());
        let lease_ns = duration_ns(lease);
        let answer = self
            .writer()
            .run(move |conn| {
                let now = now_ns();
                if let Some(max) = limit.concurrency {
                    let running: i64 = conn
                        .prepare_cached(
                            "SELECT count(*) FROM limit_leases WHERE bucket = ?1 \
                             AND holder <> ?2 AND expires_at > ?3",
                        )?
                        .query_row(params![bucket, holder, now], |row| row.get(0))?;
                    if running >= i64::from(max) {
                        return Ok(Admission::Wait {
                            after: CONCURRENCY_RECHECK,
                            reason: WaitReason::Concurrency,
                        });
                    }
                }
                if let Some(rate) = limit.rate {
                    let reserved: Option<i64> = conn
                        .prepare_cached(
                            "SELECT at FROM limit_reservations WHERE bucket = ?1 AND holder = ?2",
                        )?
                        .query_row(params![bucket, holder], |row| row.get(0))
                        .optional()?;
                    if let Some(at) = reserved {
                        if at > now {
                            return Ok(Admission::Wait {
                                after: until(at, now),
                                reason: WaitReason::Rate,
                            });
                        }
                        conn.prepare_cached(
                            "DELETE FROM limit_reservations WHERE bucket = ?1 AND holder = ?2",
                        )?
                        .execute(params![bucket, holder])?;
                    } else {
                        let tat: Option<i64> = conn
                            .prepare_cached("SELECT tat FROM limit_buckets WHERE bucket = ?1")?
                            .query_row([&bucket], |row| row.get(0))
                            .optional()?;
                        let step = gcra(rate, tat, now);
                        let (RateStep::Start { tat } | RateStep::Reserve { tat, .. }) = step;
                        conn.prepare_cached(
                            "INSERT INTO limit_buckets (bucket, tat) VALUES (?1, ?2) \
                             ON CONFLICT (bucket) DO UPDATE SET tat = excluded.tat",
                        )?
                        .execute(params![bucket, tat])?;
                        if let RateStep::Reserve { at, .. } = step {
                            // Reservations of tasks that never came back stop mattering.
                            conn.prepare_cached(
                                "DELETE FROM limit_reservations WHERE bucket = ?1 AND at < ?2",
                            )?
                            .execute(params![bucket, now.saturating_sub(STALE_RESERVATION_NS)])?;
                            conn.prepare_cached(
                                "INSERT INTO limit_reservations (bucket, holder, at) \
                                 VALUES (?1, ?2, ?3)",
                            )?
                            .execute(params![bucket, holder, at])?;
                            return Ok(Admission::Wait {
                                after: until(at, now),
                                reason: WaitReason::Rate,
                            });
                        }
                    }
                }
                if limit.concurrency.is_some() {
                    conn.prepare_cached(
                        "DELETE FROM limit_leases WHERE bucket = ?1 AND expires_at <= ?2",
                    )?
                    .execute(params![bucket, now])?;
                    conn.prepare_cached(
                        "INSERT INTO limit_leases (bucket, holder, expires_at) VALUES (?1, ?2, ?3) \
                         ON CONFLICT (bucket, holder) DO UPDATE SET expires_at = excluded.expires_at",
                    )?
                    .execute(params![bucket, holder, now.saturating_add(lease_ns)])?;
                }
                Ok(Admission::Admitted)
            })
            .await?;
        Ok(answer)
    }

    async fn renew(&self, bucket: &str, holder: &str, lease: Duration) -> Result<(), TaskLogError> {
        let (bucket, holder) = (bucket.to_owned(), holder.to_owned());
        let lease_ns = duration_ns(lease);
        self.writer()
            .run(move |conn| {
                conn.prepare_cached(
                    "UPDATE limit_leases SET expires_at = ?3 WHERE bucket = ?1 AND holder = ?2",
                )?
                .execute(params![
                    bucket,
                    holder,
                    now_ns().saturating_add(lease_ns)
                ])?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn release(&self, bucket: &str, holder: &str) -> Result<(), TaskLogError> {
        let (bucket, holder) = (bucket.to_owned(), holder.to_owned());
        self.writer()
            .run(move |conn| {
                conn.prepare_cached("DELETE FROM limit_leases WHERE bucket = ?1 AND holder = ?2")?
                    .execute(params![bucket, holder])?;
                Ok(())
            })
            .await?;
        Ok(())
    }
}
