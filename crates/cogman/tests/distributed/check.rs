//! Verdicts: waiting until every accepted task succeeded (reading the log the test names),
//! and the no-loss / counted-duplicates check of handler runs against submissions.

use std::collections::HashSet;
use std::sync::Mutex;

use cogman::{StatsSnapshot, TaskId, TaskLog, TaskState};
use cogman_testkit::wait_until;

use crate::harness::WAIT;
use crate::ledger::Ledger;
use crate::sender::Sent;

/// The ids of the accepted sends; panics with the first refusal when `all` must be accepted.
pub(crate) fn accepted(sent: &[Sent], all: bool) -> Vec<TaskId> {
    if all && let Some(refused) = sent.iter().find(|s| s.result.is_err()) {
        panic!(
            "every send is accepted, but {} was refused: {:?}",
            refused.key, refused.result
        );
    }
    sent.iter()
        .filter_map(|s| s.result.as_ref().ok().map(|r| r.id))
        .collect()
}

/// Waits until `log` records every task of `ids` as `success`.
pub(crate) async fn wait_all_success(log: &dyn TaskLog, ids: &[TaskId]) {
    let pending = Mutex::new(ids.iter().copied().collect::<HashSet<_>>());
    let waited = wait_until("every accepted task to succeed", WAIT, || async {
        let todo: Vec<TaskId> = pending
            .lock()
            .expect("invariant: not poisoned")
            .iter()
            .copied()
            .collect();
        for id in todo {
            if matches!(log.get(id).await, Ok(Some(task)) if task.status == TaskState::Success) {
                pending.lock().expect("invariant: not poisoned").remove(&id);
            }
        }
        pending.lock().expect("invariant: not poisoned").is_empty()
    })
    .await;
    if let Err(error) = waited {
        let left: Vec<TaskId> = pending
            .lock()
            .expect("invariant: not poisoned")
            .iter()
            .copied()
            .collect();
        let mut states = Vec::new();
        for id in left.iter().take(10) {
            states.push(format!(
                "{id}: {:?}",
                log.get(*id).await.map(|t| t.map(|t| t.status))
            ));
        }
        panic!(
            "{error}: {} of {} not successful, e.g. {states:?}",
            left.len(),
            ids.len()
        );
    }
}

/// No loss, duplicates counted: every accepted task ran at least once, nothing else ran, and
/// runs beyond one per task are at most the duplicates the workers counted. Returns the
/// number of extra runs.
pub(crate) fn no_loss(ledger: &Ledger, accepted: &[TaskId], stats: &[StatsSnapshot]) -> usize {
    let runs = ledger.runs();
    let expected: HashSet<TaskId> = accepted.iter().copied().collect();
    let missing: Vec<_> = expected
        .iter()
        .filter(|id| !runs.contains_key(id))
        .collect();
    assert!(
        missing.is_empty(),
        "{} accepted tasks never ran, e.g. {:?}",
        missing.len(),
        missing.first()
    );
    let unexpected: Vec<_> = runs.keys().filter(|id| !expected.contains(id)).collect();
    assert!(
        unexpected.is_empty(),
        "tasks that were never accepted ran: {unexpected:?}"
    );
    let extra: usize = runs.values().map(|n| n - 1).sum();
    let counted: u64 = stats.iter().map(|s| s.duplicates).sum();
    assert!(
        extra as u64 <= counted,
        "{extra} duplicate runs, but the workers counted only {counted}"
    );
    extra
}

/// Exactly once: every task of `ids` ran once, and nothing else ran.
pub(crate) fn exactly_once(ledger: &Ledger, ids: &[TaskId]) {
    let runs = ledger.runs();
    let expected: HashSet<TaskId> = ids.iter().copied().collect();
    assert_eq!(
        runs.keys().copied().collect::<HashSet<_>>(),
        expected,
        "the tasks that ran are the tasks sent"
    );
    let twice: Vec<_> = runs.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "tasks ran more than once: {twice:?}");
}
