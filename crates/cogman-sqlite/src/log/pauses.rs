//! The [`QueuePauses`] ability: one row of `paused_queues` per paused named queue, written in
//! the writer's transaction like everything else on the file.

use async_trait::async_trait;
use cogman_core::{PausedQueue, QueuePauses, TaskLogError};
use rusqlite::params;

use crate::store::SqliteStore;
use crate::time::{from_ns, now_ns};

#[async_trait]
impl QueuePauses for SqliteStore {
    async fn set_queue_paused(&self, queue: &str, paused: bool) -> Result<bool, TaskLogError> {
        let queue = queue.to_owned();
        let changed = self
            .writer()
            .run(move |conn| {
                let n = if paused {
                    conn.prepare_cached(
                        "INSERT INTO paused_queues (queue, since) VALUES (?1, ?2) \
                         ON CONFLICT (queue) DO NOTHING",
                    )?
                    .execute(params![queue, now_ns()])?
                } else {
                    conn.prepare_cached("DELETE FROM paused_queues WHERE queue = ?1")?
                        .execute(params![queue])?
                };
                Ok(n > 0)
            })
            .await?;
        Ok(changed)
    }

    async fn paused_queues(&self) -> Result<Vec<PausedQueue>, TaskLogError> {
        let all = self
            .reader()
            .run(move |conn| {
                let mut stmt =
                    conn.prepare_cached("SELECT queue, since FROM paused_queues ORDER BY queue")?;
                let rows = stmt.query_map([], |row| {
                    Ok(PausedQueue {
                        queue: row.get(0)?,
                        since: from_ns(row.get(1)?),
                    })
                })?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })
            .await?;
        Ok(all)
    }
}
