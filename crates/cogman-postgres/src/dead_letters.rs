//! [`DeadLetterStore`] for PostgreSQL: one row per entry in `dead_letters` (migration 6), the
//! entry as JSON text, its id a `bigserial`, its key unique.

use async_trait::async_trait;
use cogman_core::dead_letters::page_of;
use cogman_core::{DeadLetter, DeadLetterPage, DeadLetterStore, NewDeadLetter, TaskLogError};
use sqlx_core::row::Row as _;
use sqlx_postgres::PgRow;

use crate::bounds;
use crate::error::retry;
use crate::log::PostgresLog;

fn id_of(id: u64) -> i64 {
    i64::try_from(id).unwrap_or(i64::MAX)
}

fn dead_letter(row: &PgRow) -> Result<DeadLetter, TaskLogError> {
    let other = |e: sqlx_core::Error| TaskLogError::Other(Box::new(e));
    let id: i64 = row.try_get("id").map_err(other)?;
    let json: String = row.try_get("entry").map_err(other)?;
    let entry = serde_json::from_str(&json).map_err(|e| TaskLogError::Corrupt {
        id: format!("dead letter {id}"),
        reason: e.to_string(),
    })?;
    Ok(DeadLetter {
        id: u64::try_from(id).unwrap_or_default(),
        entry,
    })
}

#[async_trait]
impl DeadLetterStore for PostgresLog {
    async fn add_dead_letter(&self, entry: &NewDeadLetter) -> Result<u64, TaskLogError> {
        let json = serde_json::to_string(entry).map_err(|e| TaskLogError::Other(Box::new(e)))?;
        let key = entry.key.as_deref().map(crate::writer::pg_text);
        let pool = self.db().pool().await?;
        let id: i64 = retry("add dead letter", self.db().retries(), || {
            sqlx_core::query_scalar::query_scalar(
                "WITH added AS (INSERT INTO dead_letters (dedupe_key, dead_lettered_at, entry) \
                                VALUES ($1, $2, $3) ON CONFLICT (dedupe_key) DO NOTHING \
                                RETURNING id) \
                 SELECT id FROM added \
                 UNION ALL SELECT id FROM dead_letters WHERE dedupe_key = $1 \
                 LIMIT 1",
            )
            .bind(key.clone())
            .bind(bounds::clamp(entry.dead_lettered_at))
            .bind(&json)
            .fetch_one(pool)
        })
        .await?;
        Ok(u64::try_from(id).unwrap_or_default())
    }

    async fn dead_letters(
        &self,
        before: Option<u64>,
        limit: u32,
    ) -> Result<DeadLetterPage, TaskLogError> {
        let before = before.map_or(i64::MAX, id_of);
        let pool = self.db().pool().await?;
        let rows = retry("dead letters", self.db().retries(), || {
            sqlx_core::query::query(
                "SELECT id, entry FROM dead_letters WHERE id < $1 ORDER BY id DESC LIMIT $2",
            )
            .bind(before)
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
        })
        .await?;
        let found = rows
            .iter()
            .map(dead_letter)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page_of(found, limit))
    }

    async fn dead_letter(&self, id: u64) -> Result<Option<DeadLetter>, TaskLogError> {
        let pool = self.db().pool().await?;
        let row = retry("dead letter", self.db().retries(), || {
            sqlx_core::query::query("SELECT id, entry FROM dead_letters WHERE id = $1")
                .bind(id_of(id))
                .fetch_optional(pool)
        })
        .await?;
        row.as_ref().map(dead_letter).transpose()
    }

    async fn remove_dead_letter(&self, id: u64) -> Result<bool, TaskLogError> {
        let pool = self.db().pool().await?;
        let done = retry("remove dead letter", self.db().retries(), || {
            sqlx_core::query::query("DELETE FROM dead_letters WHERE id = $1")
                .bind(id_of(id))
                .execute(pool)
        })
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn purge_dead_letters(&self) -> Result<u64, TaskLogError> {
        let pool = self.db().pool().await?;
        let done = retry("purge dead letters", self.db().retries(), || {
            sqlx_core::query::query("DELETE FROM dead_letters").execute(pool)
        })
        .await?;
        Ok(done.rows_affected())
    }
}
