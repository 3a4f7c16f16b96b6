//! Reads of one task: its record (`get`) and its history, each one `HMGET` on the task hash.

use cogman_core::{StateChange, Task, TaskId, TaskLogError};

use crate::namespace::Namespace;
use crate::record;

/// The task `id`, or `None` when its record is gone (never written, expired, purged).
pub(crate) async fn get(ns: &Namespace, id: TaskId) -> Result<Option<Task>, TaskLogError> {
    let values = hash_fields(ns, "get", &record::read_command(&ns.keys.task(id))).await?;
    record::parse_task(id, record::stored_fields(values))
}

/// The applied changes of task `id`, oldest first: the newest `limit` of them.
pub(crate) async fn history(
    ns: &Namespace,
    id: TaskId,
    limit: usize,
) -> Result<Vec<StateChange>, TaskLogError> {
    let entries = hash_fields(ns, "history", &record::history_command(&ns.keys.task(id))).await?;
    record::parse_history(id, entries, limit)
}

/// Runs `read` (an `HMGET`) and returns its fields as raw bytes, `None` where absent.
async fn hash_fields(
    ns: &Namespace,
    what: &'static str,
    read: &redis::Cmd,
) -> Result<Vec<Option<Vec<u8>>>, TaskLogError> {
    ns.conn
        .run(
            what,
            |mut con| async move { read.query_async(&mut con).await },
        )
        .await
}
