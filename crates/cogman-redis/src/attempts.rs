//! A chain's attempt numbers are unique: before a retry's record is created, its number is
//! claimed with `SET NX` on `{ns}:attempt:{original}:{n}` (`lua/claim_attempt.lua`), so of two
//! retries racing to create attempt N + 1 exactly one is stored.

use cogman_core::{Task, TaskId, TaskLogError};

use crate::namespace::Namespace;

/// Claims `task`'s attempt number for it (a first attempt is its own chain: nothing to claim).
/// Claiming again for the same record succeeds, so a create can be repeated.
///
/// # Errors
/// [`TaskLogError::AttemptTaken`] naming the record that holds the number; the connection's
/// errors.
pub(crate) async fn claim(ns: &Namespace, task: &Task, ttl_secs: u64) -> Result<(), TaskLogError> {
    if task.original_task_id == task.id {
        return Ok(());
    }
    let key = ns.keys.attempt(task.original_task_id, task.attempt);
    let id = task.id.to_string();
    let holder: String = ns
        .conn
        .run("claim attempt", |mut con| {
            let (script, key, id) = (&ns.scripts.claim_attempt, &key, &id);
            async move {
                script
                    .key(key)
                    .arg(id)
                    .arg(ttl_secs)
                    .invoke_async(&mut con)
                    .await
            }
        })
        .await?;
    if holder == id {
        return Ok(());
    }
    let taken_by: TaskId =
        holder
            .parse()
            .map_err(|e: cogman_core::ValidationError| TaskLogError::Corrupt {
                id: key.clone(),
                reason: e.to_string(),
            })?;
    Err(TaskLogError::AttemptTaken {
        original: task.original_task_id,
        attempt: task.attempt,
        taken_by,
    })
}
