//! The [`ScheduleStore`] ability: schedules in `schedules`, one row per claimed slot in
//! `schedule_slots` (its primary key makes the claim happen once), and the leader lease in
//! `leases`. Every write runs in the writer's `BEGIN IMMEDIATE` transaction, so the read and
//! the write of a lease or a claim are one atomic step across every process on the file.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{LastRun, Schedule, ScheduleRecord, ScheduleStore, TaskId, TaskLogError};
use rusqlite::{OptionalExtension, Row, params};

use crate::error::SqliteError;
use crate::store::SqliteStore;
use crate::time::{duration_ns, from_ns, now_ns, to_ns};

/// Claims older than this before a new claim of the same schedule are deleted.
const KEEP_CLAIMS_NS: i64 = 7 * 24 * 3600 * 1_000_000_000;

const SELECT: &str = "SELECT id, definition, paused, since, last_slot, last_at, last_task_id \
                      FROM schedules";

fn decode(row: &Row<'_>) -> rusqlite::Result<Result<ScheduleRecord, SqliteError>> {
    let id: String = row.get(0)?;
    let json: String = row.get(1)?;
    let paused: bool = row.get(2)?;
    let since: i64 = row.get(3)?;
    let last_slot: Option<i64> = row.get(4)?;
    let last_at: Option<i64> = row.get(5)?;
    let last_task: Option<String> = row.get(6)?;
    let corrupt = |reason: String| SqliteError::Corrupt {
        id: id.clone(),
        reason,
    };
    Ok((|| {
        let mut schedule: Schedule =
            serde_json::from_str(&json).map_err(|e| corrupt(format!("schedule: {e}")))?;
        schedule.paused = paused;
        let task_id = last_task
            .map(|t| t.parse::<TaskId>())
            .transpose()
            .map_err(|e| corrupt(e.to_string()))?;
        Ok(ScheduleRecord {
            schedule,
            since: from_ns(since),
            last_run: last_slot.map(|slot| LastRun {
                slot: from_ns(slot),
                at: from_ns(last_at.unwrap_or(slot)),
                task_id,
            }),
        })
    })())
}

#[async_trait]
impl ScheduleStore for SqliteStore {
    async fn put_schedule(&self, schedule: &Schedule) -> Result<(), TaskLogError> {
        let json = serde_json::to_string(schedule).map_err(|source| SqliteError::Encode {
            what: "schedule",
            source,
        })?;
        let (id, paused) = (schedule.id.clone(), schedule.paused);
        self.writer()
            .run(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO schedules (id, definition, paused, since) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, \
                     paused = excluded.paused, since = excluded.since",
                )?
                .execute(params![id, json, paused, now_ns()])?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn schedule(&self, id: &str) -> Result<Option<ScheduleRecord>, TaskLogError> {
        let id = id.to_owned();
        let found = self
            .reader()
            .run(move |conn| {
                conn.prepare_cached(&format!("{SELECT} WHERE id = ?1"))?
                    .query_row([id], decode)
                    .optional()?
                    .transpose()
            })
            .await?;
        Ok(found)
    }

    async fn schedules(&self) -> Result<Vec<ScheduleRecord>, TaskLogError> {
        let all = self
            .reader()
            .run(move |conn| {
                let mut stmt = conn.prepare_cached(&format!("{SELECT} ORDER BY id"))?;
                let rows = stmt.query_map([], decode)?;
                let mut out = Vec::new();
                for row in rows {
                    out.push(row??);
                }
                Ok(out)
            })
            .await?;
        Ok(all)
    }

    async fn set_paused(&self, id: &str, paused: bool) -> Result<bool, TaskLogError> {
        let id = id.to_owned();
        let changed = self
            .writer()
            .run(move |conn| {
                // Resuming restarts the count of slots: those passed while paused never run.
                let n = conn
                    .prepare_cached(
                        "UPDATE schedules SET since = CASE WHEN paused = 1 AND ?2 = 0 \
                         THEN ?3 ELSE since END, paused = ?2 WHERE id = ?1",
                    )?
                    .execute(params![id, paused, now_ns()])?;
                Ok(n > 0)
            })
            .await?;
        Ok(changed)
    }

    async fn remove_schedule(&self, id: &str) -> Result<bool, TaskLogError> {
        let id = id.to_owned();
        let removed = self
            .writer()
            .run(move |conn| {
                conn.prepare_cached("DELETE FROM schedule_slots WHERE schedule_id = ?1")?
                    .execute([&id])?;
                let n = conn
                    .prepare_cached("DELETE FROM schedules WHERE id = ?1")?
                    .execute([&id])?;
                Ok(n > 0)
            })
            .await?;
        Ok(removed)
    }

    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, TaskLogError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        let held = self
            .writer()
            .run(move |conn| {
                let now = now_ns();
                let n = conn
                    .prepare_cached(
                        "INSERT INTO leases (name, holder, expires_at) VALUES (?1, ?2, ?3) \
                         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, \
                         expires_at = excluded.expires_at \
                         WHERE leases.holder = excluded.holder OR leases.expires_at <= ?4",
                    )?
                    .execute(params![
                        name,
                        holder,
                        now.saturating_add(duration_ns(ttl)),
                        now
                    ])?;
                Ok(n > 0)
            })
            .await?;
        Ok(held)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), TaskLogError> {
        let (name, holder) = (name.to_owned(), holder.to_owned());
        self.writer()
            .run(move |conn| {
                conn.prepare_cached("DELETE FROM leases WHERE name = ?1 AND holder = ?2")?
                    .execute([name, holder])?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn lease_holder(
        &self,
        name: &str,
    ) -> Result<Option<(String, DateTime<Utc>)>, TaskLogError> {
        let name = name.to_owned();
        let found = self
            .reader()
            .run(move |conn| {
                Ok(conn
                    .prepare_cached(
                        "SELECT holder, expires_at FROM leases WHERE name = ?1 AND expires_at > ?2",
                    )?
                    .query_row(params![name, now_ns()], |row| {
                        Ok((row.get::<_, String>(0)?, from_ns(row.get(1)?)))
                    })
                    .optional()?)
            })
            .await?;
        Ok(found)
    }

    async fn claim_slot(&self, id: &str, slot: DateTime<Utc>) -> Result<bool, TaskLogError> {
        let (id, slot) = (id.to_owned(), to_ns(slot));
        let claimed = self
            .writer()
            .run(move |conn| {
                let now = now_ns();
                let n = conn
                    .prepare_cached(
                        "INSERT INTO schedule_slots (schedule_id, slot, claimed_at) \
                         VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                    )?
                    .execute(params![id, slot, now])?;
                if n == 0 {
                    return Ok(false);
                }
                conn.prepare_cached(
                    "UPDATE schedules SET last_slot = ?2, last_at = ?3, last_task_id = NULL \
                     WHERE id = ?1 AND (last_slot IS NULL OR last_slot < ?2)",
                )?
                .execute(params![id, slot, now])?;
                conn.prepare_cached(
                    "DELETE FROM schedule_slots WHERE schedule_id = ?1 AND slot < ?2",
                )?
                .execute(params![id, slot.saturating_sub(KEEP_CLAIMS_NS)])?;
                Ok(true)
            })
            .await?;
        Ok(claimed)
    }

    async fn record_slot_task(
        &self,
        id: &str,
        slot: DateTime<Utc>,
        task_id: TaskId,
    ) -> Result<(), TaskLogError> {
        let (id, slot, task) = (id.to_owned(), to_ns(slot), task_id.to_string());
        self.writer()
            .run(move |conn| {
                conn.prepare_cached(
                    "UPDATE schedule_slots SET task_id = ?3 WHERE schedule_id = ?1 AND slot = ?2",
                )?
                .execute(params![id, slot, task])?;
                conn.prepare_cached(
                    "UPDATE schedules SET last_task_id = ?3 WHERE id = ?1 AND last_slot = ?2",
                )?
                .execute(params![id, slot, task])?;
                Ok(())
            })
            .await?;
        Ok(())
    }
}
