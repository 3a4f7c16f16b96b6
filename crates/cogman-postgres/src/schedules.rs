//! [`ScheduleStore`] for PostgreSQL (migration 9): schedules in `schedules`, one row per
//! claimed slot in `schedule_slots` (its primary key makes the claim happen once), and the
//! leader lease in `leases`, taken with `INSERT … ON CONFLICT DO UPDATE … WHERE holder = me OR
//! expires_at <= now()` — one atomic statement on the server's clock.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{LastRun, Schedule, ScheduleRecord, ScheduleStore, TaskId, TaskLogError};
use sqlx_core::row::Row as _;
use sqlx_postgres::PgRow;
use uuid::Uuid;

use crate::bounds;
use crate::error::retry;
use crate::log::PostgresLog;

/// The columns of a schedule, ahead of the statement's own clause.
macro_rules! select {
    ($rest:literal) => {
        concat!(
            "SELECT id, definition, paused, since, last_slot, last_at, last_task_id \
             FROM schedules ",
            $rest
        )
    };
}

fn record(row: &PgRow) -> Result<ScheduleRecord, TaskLogError> {
    let other = |e: sqlx_core::Error| TaskLogError::Other(Box::new(e));
    let id: String = row.try_get("id").map_err(other)?;
    let json: String = row.try_get("definition").map_err(other)?;
    let mut schedule: Schedule =
        serde_json::from_str(&json).map_err(|e| TaskLogError::Corrupt {
            id: format!("schedule {id}"),
            reason: e.to_string(),
        })?;
    schedule.paused = row.try_get("paused").map_err(other)?;
    let since: DateTime<Utc> = row.try_get("since").map_err(other)?;
    let last_slot: Option<DateTime<Utc>> = row.try_get("last_slot").map_err(other)?;
    let last_at: Option<DateTime<Utc>> = row.try_get("last_at").map_err(other)?;
    let last_task: Option<Uuid> = row.try_get("last_task_id").map_err(other)?;
    Ok(ScheduleRecord {
        schedule,
        since,
        last_run: last_slot.map(|slot| LastRun {
            slot,
            at: last_at.unwrap_or(slot),
            task_id: last_task.map(TaskId::from_uuid),
        }),
    })
}

fn millis(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait]
impl ScheduleStore for PostgresLog {
    async fn put_schedule(&self, schedule: &Schedule) -> Result<(), TaskLogError> {
        let json = serde_json::to_string(schedule).map_err(|e| TaskLogError::Other(Box::new(e)))?;
        let pool = self.db().pool().await?;
        retry("put schedule", self.db().retries(), || {
            sqlx_core::query::query(
                "INSERT INTO schedules (id, definition, paused, since) VALUES ($1, $2, $3, now()) \
                 ON CONFLICT (id) DO UPDATE SET definition = EXCLUDED.definition, \
                 paused = EXCLUDED.paused, since = EXCLUDED.since",
            )
            .bind(&schedule.id)
            .bind(&json)
            .bind(schedule.paused)
            .execute(pool)
        })
        .await?;
        Ok(())
    }

    async fn schedule(&self, id: &str) -> Result<Option<ScheduleRecord>, TaskLogError> {
        let pool = self.db().pool().await?;
        let row = retry("schedule", self.db().retries(), || {
            sqlx_core::query::query(select!("WHERE id = $1"))
                .bind(id)
                .fetch_optional(pool)
        })
        .await?;
        row.as_ref().map(record).transpose()
    }

    async fn schedules(&self) -> Result<Vec<ScheduleRecord>, TaskLogError> {
        let pool = self.db().pool().await?;
        let rows = retry("schedules", self.db().retries(), || {
            sqlx_core::query::query(select!("ORDER BY id")).fetch_all(pool)
        })
        .await?;
        rows.iter().map(record).collect()
    }

    async fn set_paused(&self, id: &str, paused: bool) -> Result<bool, TaskLogError> {
        let pool = self.db().pool().await?;
        let done = retry("pause schedule", self.db().retries(), || {
            sqlx_core::query::query(
                "UPDATE schedules SET since = CASE WHEN paused AND NOT $2 THEN now() ELSE since END, \
                 paused = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(paused)
            .execute(pool)
        })
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn remove_schedule(&self, id: &str) -> Result<bool, TaskLogError> {
        let pool = self.db().pool().await?;
        let removed: i64 = retry("remove schedule", self.db().retries(), || {
            sqlx_core::query_scalar::query_scalar(
                "WITH slots AS (DELETE FROM schedule_slots WHERE schedule_id = $1), \
                 gone AS (DELETE FROM schedules WHERE id = $1 RETURNING id) \
                 SELECT count(*) FROM gone",
            )
            .bind(id)
            .fetch_one(pool)
        })
        .await?;
        Ok(removed > 0)
    }

    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, TaskLogError> {
        let pool = self.db().pool().await?;
        let held = retry("take lease", self.db().retries(), || {
            sqlx_core::query::query(
                "INSERT INTO leases (name, holder, expires_at) \
                 VALUES ($1, $2, now() + $3 * interval '1 millisecond') \
                 ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, \
                 expires_at = EXCLUDED.expires_at \
                 WHERE leases.holder = EXCLUDED.holder OR leases.expires_at <= now() \
                 RETURNING holder",
            )
            .bind(name)
            .bind(holder)
            .bind(millis(ttl) as f64)
            .fetch_optional(pool)
        })
        .await?;
        Ok(held.is_some())
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), TaskLogError> {
        let pool = self.db().pool().await?;
        retry("release lease", self.db().retries(), || {
            sqlx_core::query::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
                .bind(name)
                .bind(holder)
                .execute(pool)
        })
        .await?;
        Ok(())
    }

    async fn lease_holder(
        &self,
        name: &str,
    ) -> Result<Option<(String, DateTime<Utc>)>, TaskLogError> {
        let pool = self.db().pool().await?;
        let row = retry("lease holder", self.db().retries(), || {
            sqlx_core::query::query(
                "SELECT holder, expires_at FROM leases WHERE name = $1 AND expires_at > now()",
            )
            .bind(name)
            .fetch_optional(pool)
        })
        .await?;
        let other = |e: sqlx_core::Error| TaskLogError::Other(Box::new(e));
        row.map(|row| {
            Ok((
                row.try_get("holder").map_err(other)?,
                row.try_get("expires_at").map_err(other)?,
            ))
        })
        .transpose()
    }

    async fn claim_slot(&self, id: &str, slot: DateTime<Utc>) -> Result<bool, TaskLogError> {
        let slot = bounds::clamp(slot);
        let pool = self.db().pool().await?;
        let claimed: i64 = retry("claim slot", self.db().retries(), || {
            sqlx_core::query_scalar::query_scalar(
                "WITH claimed AS (INSERT INTO schedule_slots (schedule_id, slot, claimed_at) \
                                  VALUES ($1, $2, now()) ON CONFLICT DO NOTHING RETURNING slot), \
                 last AS (UPDATE schedules SET last_slot = $2, last_at = now(), \
                          last_task_id = NULL \
                          WHERE id = $1 AND (last_slot IS NULL OR last_slot < $2) \
                          AND EXISTS (SELECT 1 FROM claimed)), \
                 old AS (DELETE FROM schedule_slots WHERE schedule_id = $1 \
                         AND slot < $2 - interval '7 days' AND EXISTS (SELECT 1 FROM claimed)) \
                 SELECT count(*) FROM claimed",
            )
            .bind(id)
            .bind(slot)
            .fetch_one(pool)
        })
        .await?;
        Ok(claimed > 0)
    }

    async fn record_slot_task(
        &self,
        id: &str,
        slot: DateTime<Utc>,
        task_id: TaskId,
    ) -> Result<(), TaskLogError> {
        let slot = bounds::clamp(slot);
        let pool = self.db().pool().await?;
        retry("record slot task", self.db().retries(), || {
            sqlx_core::query::query(
                "WITH s AS (UPDATE schedule_slots SET task_id = $3 \
                            WHERE schedule_id = $1 AND slot = $2) \
                 UPDATE schedules SET last_task_id = $3 WHERE id = $1 AND last_slot = $2",
            )
            .bind(id)
            .bind(slot)
            .bind(task_id.as_uuid())
            .execute(pool)
        })
        .await?;
        Ok(())
    }
}
