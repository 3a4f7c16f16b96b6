//! [`QueuePauses`] for Redis: a hash of paused named queue → when it was paused. It has no TTL:
//! a pause lasts until it is resumed, however long that takes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{PausedQueue, QueuePauses, TaskLogError};

use crate::log::RedisLog;

#[async_trait]
impl QueuePauses for RedisLog {
    async fn set_queue_paused(&self, queue: &str, paused: bool) -> Result<bool, TaskLogError> {
        let ns = self.namespace();
        let key = ns.keys.paused_queues();
        let since = Utc::now().to_rfc3339();
        let changed: i64 = ns
            .conn
            .run("pause queue", |mut con| {
                let cmd = if paused {
                    let mut cmd = redis::cmd("HSETNX");
                    cmd.arg(&key).arg(queue).arg(&since);
                    cmd
                } else {
                    let mut cmd = redis::cmd("HDEL");
                    cmd.arg(&key).arg(queue);
                    cmd
                };
                async move { cmd.query_async(&mut con).await }
            })
            .await?;
        Ok(changed > 0)
    }

    async fn paused_queues(&self) -> Result<Vec<PausedQueue>, TaskLogError> {
        let ns = self.namespace();
        let key = ns.keys.paused_queues();
        let entries: Vec<(String, String)> = ns
            .conn
            .run("paused queues", |mut con| {
                let mut cmd = redis::cmd("HGETALL");
                cmd.arg(&key);
                async move { cmd.query_async(&mut con).await }
            })
            .await?;
        let mut paused = entries
            .into_iter()
            .map(|(queue, since)| {
                let since = DateTime::parse_from_rfc3339(&since)
                    .map_err(|e| TaskLogError::Corrupt {
                        id: format!("paused queue {queue}"),
                        reason: e.to_string(),
                    })?
                    .with_timezone(&Utc);
                Ok(PausedQueue { queue, since })
            })
            .collect::<Result<Vec<_>, TaskLogError>>()?;
        paused.sort_by(|a, b| a.queue.cmp(&b.queue));
        Ok(paused)
    }
}
