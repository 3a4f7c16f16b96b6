//! History notes: entries in a task's history that record something that happened while its
//! state stayed the same — a second run after a worker died, or a worker handing the task back
//! because it has no handler for its name. A note is appended by [`TaskLog::note`] with the
//! task's state at that moment; it never changes the record. Each task holds at most
//! [`HistoryNote::MAX_PER_TASK`] notes, so a task that bounces between workers cannot grow its
//! history without bound.
//!
//! [`TaskLog::note`]: crate::TaskLog::note

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::state::TaskState;
use crate::task::TaskId;
use crate::task_log::StateChange;

/// What a history note says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// The task started running again while its record still said `in_progress`: an earlier
    /// run was cut short (its worker was killed, or lost the delivery) and this is another.
    Rerun,
    /// A worker with no handler for the task's name (on the task's queue) handed it back for
    /// another worker to take.
    WaitingForHandler,
}

impl NoteKind {
    /// Every kind.
    pub const ALL: [NoteKind; 2] = [NoteKind::Rerun, NoteKind::WaitingForHandler];

    /// The stored and displayed name (`rerun`, `waiting_for_handler`).
    pub fn as_str(self) -> &'static str {
        match self {
            NoteKind::Rerun => "rerun",
            NoteKind::WaitingForHandler => "waiting_for_handler",
        }
    }
}

impl fmt::Display for NoteKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A note kind name that is not one of [`NoteKind::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown history note kind {0:?}")]
pub struct UnknownNoteKind(pub String);

impl FromStr for NoteKind {
    type Err = UnknownNoteKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        NoteKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| UnknownNoteKind(s.to_owned()))
    }
}

/// A note to append to a task's history with [`TaskLog::note`](crate::TaskLog::note).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryNote {
    /// The task it is about.
    pub task_id: TaskId,
    /// What happened.
    pub kind: NoteKind,
    /// When.
    pub at: DateTime<Utc>,
    /// The worker it happened on.
    pub worker: Option<String>,
}

impl HistoryNote {
    /// Most notes one task keeps; later ones are dropped ([`NoteOutcome::Full`]).
    pub const MAX_PER_TASK: usize = 20;

    /// A note of `kind` about `task_id`, now, by `worker`.
    pub fn new(task_id: TaskId, kind: NoteKind, worker: impl Into<String>) -> Self {
        HistoryNote {
            task_id,
            kind,
            at: Utc::now(),
            worker: Some(worker.into()),
        }
    }

    /// The history entry this note becomes on a task that is in `state`.
    pub fn entry(&self, state: TaskState) -> StateChange {
        StateChange {
            note: Some(self.kind),
            worker: self.worker.clone(),
            at: self.at,
            ..StateChange::new(self.task_id, state)
        }
    }
}

/// What [`TaskLog::note`](crate::TaskLog::note) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteOutcome {
    /// The note is in the history.
    Added,
    /// The task already holds [`HistoryNote::MAX_PER_TASK`] notes; this one was dropped.
    Full,
    /// No record of the task exists; nothing was written.
    Missing,
}

/// Whether a task with `held` notes may take another.
pub fn has_room(held: usize) -> bool {
    held < HistoryNote::MAX_PER_TASK
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for kind in NoteKind::ALL {
            assert_eq!(kind.as_str().parse::<NoteKind>(), Ok(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.as_str())
            );
        }
        assert!("retry".parse::<NoteKind>().is_err());
    }

    #[test]
    fn an_entry_keeps_the_state_it_is_given() {
        let note = HistoryNote::new(TaskId::new(), NoteKind::Rerun, "w2");
        let entry = note.entry(TaskState::InProgress);
        assert_eq!(entry.state, TaskState::InProgress);
        assert_eq!(entry.note, Some(NoteKind::Rerun));
        assert_eq!(entry.worker.as_deref(), Some("w2"));
        assert_eq!(entry.at, note.at);
    }
}
