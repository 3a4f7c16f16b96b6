//! Reads of one task: its record (`get`) and its history, each one command on the task hash.

use cogman_core::{StateChange, Task, TaskId, TaskLogError};

use crate::namespace::Namespace;
use crate::record;

/// The task `id`, or `None` when its record is gone (never written, expired, purged).
pub(crate) async fn get(ns: &Namespace, id: TaskId) -> Result<Option<Task>, TaskLogError> {
    let read = record::read_command(&ns.keys.task(id));
    let values: Vec<Option<Vec<u8>>> = ns
        .conn
        .run("get", |mut con| {
            let read = &read;
            async move { read.query_async(&mut con).await }
        })
        .await?;
    record::parse_task(id, record::stored_fields(values))
}

/// The applied changes of task `id`, oldest first: the newest `limit` of them.
pub(crate) async fn history(
    ns: &Namespace,
    id: TaskId,
    limit: usize,
) -> Result<Vec<StateChange>, TaskLogError> {
    let read = record::history_command(&ns.keys.task(id));
    let entries: Vec<Option<Vec<u8>>> = ns
        .conn
        .run("history", |mut con| {
            let read = &read;
            async move { read.query_async(&mut con).await }
        })
        .await?;
    record::parse_history(id, entries, limit)
}
