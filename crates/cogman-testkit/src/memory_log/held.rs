//! The changes [`MemoryLog`](super::MemoryLog) holds back: per task, oldest first, with the
//! time by which they must be applied. A task's held changes are taken together, so they are
//! applied in the order they were given and before any later change of the task.

use std::collections::HashMap;
use std::time::Instant;

use cogman_core::{StateChange, TaskId};

/// Held changes by task.
#[derive(Debug, Default)]
pub(super) struct HeldChanges {
    by_task: HashMap<TaskId, Held>,
}

/// The held changes of one task and when they are due.
#[derive(Debug)]
struct Held {
    changes: Vec<StateChange>,
    due: Instant,
}

impl HeldChanges {
    /// Holds `change` until `due`, or until its task's earlier held changes are due (the
    /// first change held sets the time, so no change waits longer than the hold).
    pub(super) fn hold(&mut self, change: StateChange, due: Instant) {
        self.by_task
            .entry(change.task_id)
            .or_insert_with(|| Held {
                changes: Vec::new(),
                due,
            })
            .changes
            .push(change);
    }

    /// The changes held for `task`, oldest first.
    pub(super) fn of(&self, task: TaskId) -> &[StateChange] {
        self.by_task
            .get(&task)
            .map_or(&[], |held| held.changes.as_slice())
    }

    /// Takes the changes held for `task`, oldest first.
    pub(super) fn take(&mut self, task: TaskId) -> Vec<StateChange> {
        self.by_task
            .remove(&task)
            .map(|held| held.changes)
            .unwrap_or_default()
    }

    /// Takes the changes of every task whose time is up at `now`.
    pub(super) fn take_due(&mut self, now: Instant) -> Vec<StateChange> {
        let due: Vec<TaskId> = self
            .by_task
            .iter()
            .filter(|(_, held)| held.due <= now)
            .map(|(id, _)| *id)
            .collect();
        due.into_iter().flat_map(|id| self.take(id)).collect()
    }

    /// Takes every held change.
    pub(super) fn take_all(&mut self) -> Vec<StateChange> {
        self.by_task
            .drain()
            .flat_map(|(_, held)| held.changes)
            .collect()
    }
}
