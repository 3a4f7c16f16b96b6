//! Unique keys in the `unique_keys` table (migration 10): a claim is one
//! `INSERT ... ON CONFLICT DO UPDATE ... WHERE expired`, in the transaction that records the
//! task with `create_tasks`, so concurrent claimers of one key (in any process) wait on the
//! row and exactly one wins. Hold times run on the server's clock. A release deletes the row
//! only while the releasing task holds it "until finished".

use cogman_core::{Claim, Task, TaskId, TaskLogError, UniqueKey};
use sqlx_core::Error;
use uuid::Uuid;

use crate::db::Db;
use crate::error::retry;
use crate::writer::CreateArrays;

/// Takes the key when it is free or expired; returns the new holder, or no row when a live
/// claim holds it (that row is then locked until the transaction ends).
const CLAIM: &str = "INSERT INTO unique_keys (key, task_id, expires_at) \
     VALUES ($1, $2, now() + $3::float8 * interval '1 microsecond') \
     ON CONFLICT (key) DO UPDATE SET task_id = EXCLUDED.task_id, \
         expires_at = EXCLUDED.expires_at \
     WHERE unique_keys.expires_at IS NOT NULL AND unique_keys.expires_at <= now() \
     RETURNING task_id";

const HOLDER: &str = "SELECT task_id FROM unique_keys WHERE key = $1";

const RELEASE: &str =
    "DELETE FROM unique_keys WHERE key = $1 AND task_id = $2 AND expires_at IS NULL";

/// How often a claim is tried again when the holder it lost to let go before it could be
/// read (a release racing the claim).
const ROUNDS: usize = 8;

/// Claims `key` for `task` and records the task in one transaction, unless a live claim holds
/// the key. A retried call whose first try committed finds its own claim and answers
/// [`Claim::Created`].
pub(crate) async fn create_unique(
    db: &Db,
    task: &Task,
    key: &UniqueKey,
) -> Result<Claim, TaskLogError> {
    let pool = db.pool().await?;
    let hold_us = key
        .hold
        .map(|hold| hold.as_micros().min(u128::from(u64::MAX)) as f64);
    let arrays = CreateArrays::new(&[task]);
    retry("create_unique", db.retries(), || async {
        for _ in 0..ROUNDS {
            let mut tx = pool.begin().await?;
            let won: Option<Uuid> = sqlx_core::query_scalar::query_scalar(CLAIM)
                .bind(&key.key)
                .bind(task.id.as_uuid())
                .bind(hold_us)
                .fetch_optional(&mut *tx)
                .await?;
            if won.is_some() {
                arrays.query().fetch_all(&mut *tx).await?;
                tx.commit().await?;
                return Ok(Claim::Created);
            }
            let holder: Option<Uuid> = sqlx_core::query_scalar::query_scalar(HOLDER)
                .bind(&key.key)
                .fetch_optional(&mut *tx)
                .await?;
            tx.rollback().await?;
            match holder.map(TaskId::from_uuid) {
                Some(by) if by == task.id => return Ok(Claim::Created),
                Some(by) => return Ok(Claim::Held { by }),
                None => {}
            }
        }
        Err(Error::Protocol(format!(
            "unique key {:?} kept changing hands; claim not settled",
            key.key
        )))
    })
    .await
}

/// Drops `holder`'s "until finished" claim of `key`; any other claim stays.
pub(crate) async fn release_unique(db: &Db, key: &str, holder: TaskId) -> Result<(), TaskLogError> {
    let pool = db.pool().await?;
    retry("release_unique", db.retries(), || {
        sqlx_core::query::query(RELEASE)
            .bind(key)
            .bind(holder.as_uuid())
            .execute(pool)
    })
    .await
    .map(drop)
}
