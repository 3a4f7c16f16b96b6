//! Reading back what a task log holds, for assertions: the states of a task's history in
//! order, and a task read again after it was written.

use cogman_core::{Task, TaskId, TaskLog, TaskState};

/// The states of `id`'s history, oldest first.
///
/// # Panics
/// When the history cannot be read.
pub async fn history_states(log: &dyn TaskLog, id: TaskId) -> Vec<TaskState> {
    log.history(id)
        .await
        .expect("history")
        .iter()
        .map(|change| change.state)
        .collect()
}

/// Reads `written` back from `log` and checks its id, name, payload and status.
///
/// # Panics
/// When the read fails, the task is not there, or a field differs.
pub async fn assert_reads_back(log: &dyn TaskLog, written: &Task) {
    let read = log
        .get(written.id)
        .await
        .expect("read after recovery")
        .expect("the written task is there");
    assert_eq!(read.id, written.id);
    assert_eq!(read.name, written.name);
    assert_eq!(read.payload, written.payload);
    assert_eq!(read.status, written.status);
}
