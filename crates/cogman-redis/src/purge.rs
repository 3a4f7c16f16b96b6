//! [`TaskLog::purge_before`](cogman_core::TaskLog::purge_before) for Redis: walks the
//! all-tasks index below the cutoff in pages and runs the `purge` script on each page, which
//! deletes final records (their history is in the same hash) with their index entries and drops the index entries
//! of records that already expired. Records also expire on their own after the TTL.

use chrono::{DateTime, Utc};
use cogman_core::TaskLogError;

use crate::index::{self, Position};
use crate::namespace::Namespace;
use crate::record;

/// Ids per script call.
const PAGE: usize = 500;

pub(crate) async fn purge_before(
    ns: &Namespace,
    cutoff: DateTime<Utc>,
) -> Result<u64, TaskLogError> {
    let all = ns.keys.all();
    let prefix = ns.keys.index_prefix();
    let task_prefix = ns.keys.task_prefix();
    let attempt_prefix = ns.keys.attempt_prefix();
    let mut position = Position::AtOrBelow(record::score(cutoff).saturating_sub(1));
    let mut deleted = 0;
    loop {
        let entries = index::page(ns, &all, &position, None, PAGE).await?;
        let Some(last) = entries.last() else { break };
        position = index::after(last);
        let removed: u64 = ns
            .conn
            .run("purge", |mut con| {
                let mut invocation = ns.scripts.purge.prepare_invoke();
                invocation
                    .arg(&prefix)
                    .arg(&task_prefix)
                    .arg(&attempt_prefix);
                for (_, id) in &entries {
                    invocation.arg(id);
                }
                async move { invocation.invoke_async(&mut con).await }
            })
            .await?;
        deleted += removed;
        if entries.len() < PAGE {
            break;
        }
    }
    Ok(deleted)
}
