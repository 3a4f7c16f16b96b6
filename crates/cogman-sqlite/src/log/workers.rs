//! The [`WorkerRegistry`] ability: one row per worker in `workers`, its latest heartbeat as
//! JSON.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{TaskLogError, WorkerInfo, WorkerRegistry};
use rusqlite::params;

use crate::error::SqliteError;
use crate::store::SqliteStore;
use crate::time::to_ns;

#[async_trait]
impl WorkerRegistry for SqliteStore {
    async fn heartbeat(&self, info: &WorkerInfo) -> Result<(), TaskLogError> {
        let json = serde_json::to_string(info).map_err(|source| SqliteError::Encode {
            what: "worker info",
            source,
        })?;
        let (id, at) = (info.id.clone(), to_ns(info.last_heartbeat));
        self.writer()
            .run(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO workers (id, last_heartbeat, info) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (id) DO UPDATE SET last_heartbeat = excluded.last_heartbeat, \
                     info = excluded.info",
                )?
                .execute(params![id, at, json])?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn deregister(&self, worker_id: &str) -> Result<(), TaskLogError> {
        let id = worker_id.to_owned();
        self.writer()
            .run(move |conn| {
                conn.prepare_cached("DELETE FROM workers WHERE id = ?1")?
                    .execute([id])?;
                Ok(())
            })
            .await?;
        Ok(())
    }

    async fn workers(&self, since: DateTime<Utc>) -> Result<Vec<WorkerInfo>, TaskLogError> {
        let since = to_ns(since);
        let workers = self
            .reader()
            .run(move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT id, info FROM workers WHERE last_heartbeat >= ?1 ORDER BY id",
                )?;
                let rows = stmt
                    .query_map([since], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect::<Result<Vec<(String, String)>, _>>()?;
                rows.into_iter()
                    .map(|(id, json)| {
                        serde_json::from_str(&json).map_err(|e| SqliteError::Corrupt {
                            id,
                            reason: format!("worker info: {e}"),
                        })
                    })
                    .collect::<Result<Vec<WorkerInfo>, _>>()
            })
            .await?;
        Ok(workers)
    }
}
