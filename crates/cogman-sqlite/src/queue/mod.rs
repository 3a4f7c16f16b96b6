//! The [`Broker`] side of [`SqliteStore`]: `publish` inserts a `queue` row (idempotent on the
//! task id) and wakes this process's consumers; `consume` returns a [`SqliteConsumer`]; queue
//! statistics come from one grouped query. Claiming lives in [`claim`], settling in
//! [`delivery`], the row format in [`codec`], dead letters in [`dead_letter`], and their hand-over
//! to another task log in [`hand_over`].

mod claim;
pub(crate) mod codec;
mod consumer;
pub(crate) mod dead_letter;
mod delivery;
mod hand_over;

use async_trait::async_trait;
use cogman_core::{
    Broker, BrokerError, ConsumeOptions, Consumer, DeadLetterFeed, Priority, QueueStats,
    QueueStatsSource, Task,
};
use rusqlite::params;

use crate::error::SqliteError;
use crate::store::SqliteStore;
use crate::time::now_ns;
use consumer::SqliteConsumer;

/// Name of the high-priority queue in [`QueueStats`].
pub const HIGH_QUEUE: &str = "sqlite.high";
/// Name of the low-priority queue in [`QueueStats`].
pub const LOW_QUEUE: &str = "sqlite.low";
/// Name of the dead-letter store in [`QueueStats`].
pub const DEAD_LETTER_QUEUE: &str = "sqlite.dead_letters";

#[async_trait]
impl Broker for SqliteStore {
    async fn publish(&self, task: &Task) -> Result<(), BrokerError> {
        if self.is_closed() {
            return Err(BrokerError::Closed);
        }
        let row = codec::encode(task)?;
        self.writer()
            .run(move |conn| {
                conn.prepare_cached(
                    "INSERT INTO queue (task_id, priority, run_at, visible_at, task, payload, \
                     queue) VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6) ON CONFLICT (task_id) DO NOTHING",
                )?
                .execute(row.insert_params())?;
                Ok(())
            })
            .await?;
        self.wake_consumers();
        Ok(())
    }

    async fn consume(&self, options: ConsumeOptions) -> Result<Box<dyn Consumer>, BrokerError> {
        if self.is_closed() {
            return Err(BrokerError::Closed);
        }
        Ok(Box::new(SqliteConsumer::new(self.clone(), &options)))
    }

    /// Closes the broker side: `publish` and `consume` fail with [`BrokerError::Closed`] and
    /// waiting consumers return it. The task log keeps working; the file is closed when the
    /// last clone of the store is dropped.
    async fn close(&self) -> Result<(), BrokerError> {
        self.mark_closed();
        Ok(())
    }

    fn queue_stats_source(&self) -> Option<&dyn QueueStatsSource> {
        Some(self)
    }

    /// The file's dead letters when the task log is another store
    /// ([`SqliteOptions::hand_over_dead_letters`](crate::SqliteOptions)); `None` when the file
    /// is the log and keeps them.
    async fn dead_letter_feed(&self) -> Result<Option<Box<dyn DeadLetterFeed>>, BrokerError> {
        if self.is_closed() {
            return Err(BrokerError::Closed);
        }
        if !self.options().hand_over_dead_letters {
            return Ok(None);
        }
        Ok(Some(Box::new(hand_over::HandOverFeed::new(self.clone()))))
    }
}

#[async_trait]
impl QueueStatsSource for SqliteStore {
    async fn queue_stats(&self) -> Result<Vec<QueueStats>, BrokerError> {
        let stats = self
            .reader()
            .run(|conn| {
                let now = now_ns();
                let mut stats = Vec::new();
                // A task cancelled while it waits keeps its row until a worker claims and
                // drops it; it is not counted as ready or scheduled (the log says cancelled).
                let mut stmt = conn.prepare_cached(
                    "SELECT COALESCE(SUM(visible_at <= ?1 AND NOT cancelled), 0), \
                            COALESCE(SUM(visible_at > ?1 AND lease_token IS NULL \
                                         AND NOT cancelled), 0), \
                            COALESCE(SUM(visible_at > ?1 AND lease_token IS NOT NULL), 0) \
                     FROM (SELECT visible_at, lease_token, \
                                  EXISTS (SELECT 1 FROM tasks t WHERE t.id = queue.task_id \
                                          AND t.status = 'cancelled') AS cancelled \
                           FROM queue WHERE priority = ?2)",
                )?;
                for (name, priority) in [(HIGH_QUEUE, Priority::High), (LOW_QUEUE, Priority::Low)] {
                    let (ready, scheduled, in_flight): (i64, i64, i64) = stmt
                        .query_row(params![now, codec::priority_code(priority)], |row| {
                            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
                        })?;
                    stats.push(QueueStats {
                        name: name.to_owned(),
                        priority: Some(priority),
                        ready: count(ready),
                        scheduled: count(scheduled),
                        in_flight: count(in_flight),
                        consumers: None,
                    });
                }
                let dead: i64 =
                    conn.query_row("SELECT COUNT(*) FROM dead_letters", [], |row| row.get(0))?;
                stats.push(QueueStats {
                    name: DEAD_LETTER_QUEUE.to_owned(),
                    priority: None,
                    ready: count(dead),
                    scheduled: 0,
                    in_flight: 0,
                    consumers: None,
                });
                Ok::<_, SqliteError>(stats)
            })
            .await?;
        Ok(stats)
    }
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}
