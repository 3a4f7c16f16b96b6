//! The [`Outbox`] ability: claims `initiated` tasks (accepted, never published) with a lease
//! kept in `tasks.outbox_lease_until`, in one `UPDATE … RETURNING`. Age is measured from
//! `created_at`: the embedded mode runs on one machine, so the clock that wrote it is the one
//! that reads it.

use std::time::Duration;

use async_trait::async_trait;
use cogman_core::{Outbox, Task, TaskLogError, TaskState};
use rusqlite::params;

use super::row::{RawTask, TASK_COLUMNS};
use crate::store::SqliteStore;
use crate::time::{duration_ns, now_ns};

#[async_trait]
impl Outbox for SqliteStore {
    async fn claim_unpublished(
        &self,
        min_age: Duration,
        limit: u32,
        lease: Duration,
    ) -> Result<Vec<Task>, TaskLogError> {
        let min_age = duration_ns(min_age);
        let lease = duration_ns(lease);
        let claimed = self
            .writer()
            .run(move |conn| {
                let now = now_ns();
                let before = now.saturating_sub(min_age);
                let mut stmt = conn.prepare_cached(&format!(
                    "UPDATE tasks SET outbox_lease_until = ?1 WHERE id IN ( \
                       SELECT id FROM tasks WHERE status = ?2 AND created_at < ?3 \
                       AND outbox_lease_until <= ?4 ORDER BY id LIMIT ?5) \
                     RETURNING {TASK_COLUMNS}"
                ))?;
                let raws = stmt
                    .query_map(
                        params![
                            now.saturating_add(lease),
                            TaskState::Initiated.as_str(),
                            before,
                            now,
                            i64::from(limit)
                        ],
                        RawTask::from_row,
                    )?
                    .collect::<Result<Vec<_>, _>>()?;
                raws.into_iter().map(RawTask::into_task).collect()
            })
            .await?;
        Ok(claimed)
    }
}
