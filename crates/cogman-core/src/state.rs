//! [`TaskState`] and the single function, [`TaskState::transition_to`], that decides whether a
//! recorded state may replace another. Every backend calls it (or mirrors it in a script that is
//! tested against it), so a state never goes backwards whatever order writes arrive in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Where a task is in its life. The names are the seed's (`initiated`, `queued`, `in_progress`,
/// `retry`, `success`, `failed`) plus `scheduled` (waiting for its run time) and `cancelled`.
///
/// ```text
/// initiated ─▶ scheduled ─▶ queued ─▶ in_progress ─▶ success | failed | retry | cancelled
///      └──────────┴────────────┴──────────▶ cancelled
/// ```
/// `retry` is final for one attempt: the attempt failed and a new task (new id, same
/// `original_task_id`) carries the work on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskState {
    /// Accepted and durably recorded, not yet handed to the broker.
    Initiated,
    /// Handed to the broker with a run time in the future.
    Scheduled,
    /// In the broker, ready to run.
    Queued,
    /// Claimed by a worker; the handler is running (or will run again after a crash).
    InProgress,
    /// This attempt failed and a new attempt was created.
    Retry,
    /// The handler succeeded.
    Success,
    /// The handler failed and no retry budget was left, or the failure was permanent.
    Failed,
    /// Cancelled before it could finish.
    Cancelled,
}

/// What happens when a state is written over another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The new state moves the task forward: store it.
    Advance,
    /// The new state equals the current one: nothing to change (replays are normal).
    Same,
    /// The new state is behind the current one (a late write): ignore it.
    Stale,
}

impl TaskState {
    /// Every state, in order of progress.
    pub const ALL: [TaskState; 8] = [
        TaskState::Initiated,
        TaskState::Scheduled,
        TaskState::Queued,
        TaskState::InProgress,
        TaskState::Retry,
        TaskState::Success,
        TaskState::Failed,
        TaskState::Cancelled,
    ];

    /// Progress rank: a state may only be replaced by one of a higher rank.
    /// All final states share the top rank, so nothing replaces a final state.
    pub fn rank(self) -> u8 {
        match self {
            TaskState::Initiated => 0,
            TaskState::Scheduled => 1,
            TaskState::Queued => 2,
            TaskState::InProgress => 3,
            TaskState::Retry | TaskState::Success | TaskState::Failed | TaskState::Cancelled => 4,
        }
    }

    /// True for states that end a task's life (`retry`, `success`, `failed`, `cancelled`).
    pub fn is_final(self) -> bool {
        self.rank() == 4
    }

    /// The one rule for every write: may `next` replace `self`?
    pub fn transition_to(self, next: TaskState) -> Transition {
        if self == next {
            Transition::Same
        } else if next.rank() > self.rank() {
            Transition::Advance
        } else {
            Transition::Stale
        }
    }

    /// The stable name used in storage, the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Initiated => "initiated",
            TaskState::Scheduled => "scheduled",
            TaskState::Queued => "queued",
            TaskState::InProgress => "in_progress",
            TaskState::Retry => "retry",
            TaskState::Success => "success",
            TaskState::Failed => "failed",
            TaskState::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Returned when a string names no state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown task state {0:?} (expected one of initiated, scheduled, queued, in_progress, retry, success, failed, cancelled)"
)]
pub struct UnknownState(pub String);

impl FromStr for TaskState {
    type Err = UnknownState;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaskState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| UnknownState(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn any_state() -> impl Strategy<Value = TaskState> {
        proptest::sample::select(TaskState::ALL.to_vec())
    }

    /// Applies writes the way every backend must: keep the current state unless the write advances it.
    fn apply(writes: &[TaskState]) -> TaskState {
        writes.iter().fold(TaskState::Initiated, |current, &next| {
            match current.transition_to(next) {
                Transition::Advance => next,
                Transition::Same | Transition::Stale => current,
            }
        })
    }

    #[test]
    fn final_states_never_change() {
        for from in TaskState::ALL.into_iter().filter(|s| s.is_final()) {
            for to in TaskState::ALL {
                assert_ne!(
                    from.transition_to(to),
                    Transition::Advance,
                    "{from} -> {to}"
                );
            }
        }
    }

    #[test]
    fn the_normal_path_advances() {
        use TaskState::*;
        let path = [Initiated, Scheduled, Queued, InProgress, Success];
        for pair in path.windows(2) {
            assert_eq!(pair[0].transition_to(pair[1]), Transition::Advance);
        }
        assert_eq!(Success.transition_to(Queued), Transition::Stale);
        assert_eq!(InProgress.transition_to(InProgress), Transition::Same);
    }

    #[test]
    fn names_round_trip() {
        for state in TaskState::ALL {
            assert_eq!(state.as_str().parse::<TaskState>(), Ok(state));
            let json = serde_json::to_string(&state).expect("a state serializes");
            assert_eq!(json, format!("\"{}\"", state.as_str()));
        }
        assert!("done".parse::<TaskState>().is_err());
    }

    proptest! {
        /// The rank of the stored state never decreases, whatever order writes arrive in.
        #[test]
        fn state_never_goes_backwards(writes in proptest::collection::vec(any_state(), 0..20)) {
            let mut current = TaskState::Initiated;
            for &next in &writes {
                let before = current;
                if current.transition_to(next) == Transition::Advance { current = next; }
                prop_assert!(current.rank() >= before.rank());
                if before.is_final() { prop_assert_eq!(current, before); }
            }
        }

        /// Any permutation of a set of writes ends at a state of the same (highest) rank;
        /// with one final write among them, every order ends at exactly that state.
        #[test]
        fn order_does_not_matter_for_the_outcome(
            mut writes in proptest::collection::vec(
                proptest::sample::select(vec![TaskState::Scheduled, TaskState::Queued, TaskState::InProgress]), 0..10),
            last in proptest::sample::select(vec![TaskState::Success, TaskState::Failed, TaskState::Retry, TaskState::Cancelled]),
            seed in any::<u64>(),
        ) {
            writes.push(last);
            let in_order = apply(&writes);
            let mut shuffled = writes.clone();
            let n = shuffled.len();
            for i in 0..n { shuffled.swap(i, (seed as usize).wrapping_add(i * 7) % n); }
            prop_assert_eq!(in_order, last);
            prop_assert_eq!(apply(&shuffled), last);
        }
    }
}
