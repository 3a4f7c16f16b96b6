//! Unique keys for Redis: `{ns}:unique:{key}` holds the holder's id, claimed by the `claim`
//! script (read and set in one atomic step, so one claimer of a key wins across every
//! process) and released by the `release` script (deleted only while the releasing task
//! holds it). A key held for a fixed time expires with `PX`; one held "until finished" gets
//! the log's record TTL as its lifetime, so a key whose task record expired cannot stay held.
//! The task record is written right after the claim; if that write fails, the claim is
//! taken back.

use cogman_core::{Claim, Task, TaskId, TaskLogError, UniqueKey};

use crate::log::RedisLog;

/// Appended to the holder's id for a key held for a fixed time, which a release leaves.
const TIMED: &str = ":t";

/// Claims `key` for `task`, then records the task; a held key writes nothing.
pub(crate) async fn create_unique(
    log: &RedisLog,
    task: &Task,
    key: &UniqueKey,
) -> Result<Claim, TaskLogError> {
    let ns = log.namespace();
    let name = ns.keys.unique(&key.key);
    let value = match key.hold {
        Some(_) => format!("{}{TIMED}", task.id),
        None => task.id.to_string(),
    };
    let lifetime_ms = key.hold.map_or_else(
        || log.ttl_secs().saturating_mul(1000).max(1),
        |hold| u64::try_from(hold.as_millis()).unwrap_or(u64::MAX).max(1),
    );
    let held: Option<String> = ns
        .conn
        .run("unique claim", |mut con| {
            let mut invocation = ns.scripts.claim.prepare_invoke();
            invocation.key(&name).arg(&value).arg(lifetime_ms);
            async move { invocation.invoke_async(&mut con).await }
        })
        .await?;
    match held {
        // A retry of a claim that went through: the key is this task's.
        Some(held) if held == value => {}
        Some(held) => {
            let id = held.strip_suffix(TIMED).unwrap_or(&held);
            let by = id.parse::<TaskId>().map_err(|_| TaskLogError::Corrupt {
                id: id.to_owned(),
                reason: format!(
                    "unique key {:?} names a holder that is not a task id",
                    key.key
                ),
            })?;
            return Ok(Claim::Held { by });
        }
        None => {}
    }
    if let Err(error) = log.writer().create(task).await {
        if let Err(undo) = release_value(log, &name, &value).await {
            tracing::warn!(task_id = %task.id, %undo, "could not take back the unique key of a task that was not recorded; it stays held until it expires");
        }
        return Err(error);
    }
    Ok(Claim::Created)
}

/// Drops `holder`'s "until finished" claim of `key`; any other claim stays.
pub(crate) async fn release_unique(
    log: &RedisLog,
    key: &str,
    holder: TaskId,
) -> Result<(), TaskLogError> {
    let name = log.namespace().keys.unique(key);
    release_value(log, &name, &holder.to_string()).await
}

async fn release_value(log: &RedisLog, name: &str, value: &str) -> Result<(), TaskLogError> {
    let ns = log.namespace();
    let _: i64 = ns
        .conn
        .run("unique release", |mut con| {
            let mut invocation = ns.scripts.release.prepare_invoke();
            invocation.key(name).arg(value);
            async move { invocation.invoke_async(&mut con).await }
        })
        .await?;
    Ok(())
}
