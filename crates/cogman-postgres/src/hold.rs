//! The holding stage in front of the group-commit writer: changes recorded with
//! `record_behind` wait here up to the merge window for a later write of the same task, which
//! takes them along as its `prior` changes (one row write for all of them; see migration 4).
//! A held change whose window ends is written on its own; `flush` writes every held change
//! and answers once they are committed. Every other write passes straight through, taking the
//! held changes of its task, so a task's changes keep their order. Reads of one task through
//! the same log overlay its held changes (see `PostgresLog::get`), so the process that holds a
//! change reads it at once.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use cogman_core::{StateChange, TaskId, TaskLogError};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::op::Op;

/// Most tasks with held changes; beyond, a change to hold is written at once.
const MAX_HELD_TASKS: usize = 16_384;

/// What callers send to the writer.
pub(crate) enum Request {
    /// A write that is answered once committed.
    Write(Op),
    /// A change that may be held back and merged into a later write of its task.
    Behind(StateChange),
    /// Write every held change; answer once they are committed.
    Flush(oneshot::Sender<Result<(), TaskLogError>>),
}

/// The held changes of one task, oldest first, and when they must be written.
struct Held {
    changes: Vec<StateChange>,
    due: Instant,
}

/// The held changes, shared by the stage's loop and the log's reads (which overlay them).
pub(crate) type SharedStage = Arc<Mutex<Stage>>;

/// Runs the stage: reads `requests`, holds changes, sends writes on to `writes`. Ends when
/// every sender of `requests` is dropped, after sending on every held change.
pub(crate) async fn run(
    mut requests: mpsc::Receiver<Request>,
    writes: mpsc::Sender<Op>,
    window: Duration,
    stage: SharedStage,
) {
    loop {
        let next_due = lock(&stage).next_due();
        let request = tokio::select! {
            request = requests.recv() => request,
            () = sleep_until(next_due) => {
                let due = lock(&stage).take_due(Instant::now());
                for op in due {
                    if writes.send(op).await.is_err() {
                        return;
                    }
                }
                continue;
            }
        };
        let ops = match request {
            None => {
                let (ops, _) = lock(&stage).take_all();
                for op in ops {
                    let _ = writes.send(op).await;
                }
                return;
            }
            Some(Request::Write(op)) => vec![lock(&stage).merge(op)],
            Some(Request::Behind(change)) => {
                lock(&stage).hold(change, window).into_iter().collect()
            }
            Some(Request::Flush(reply)) => {
                let (ops, committed) = lock(&stage).take_all();
                tokio::spawn(answer_flush(committed, reply));
                ops
            }
        };
        for op in ops {
            if writes.send(op).await.is_err() {
                return;
            }
        }
    }
}

/// The stage, locked (never held across an await).
pub(crate) fn lock(stage: &SharedStage) -> MutexGuard<'_, Stage> {
    stage.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn sleep_until(due: Option<Instant>) {
    match due {
        Some(due) => tokio::time::sleep_until(due).await,
        None => std::future::pending().await,
    }
}

/// Answers a flush with the first error of the writes it sent, once all are committed.
async fn answer_flush(
    committed: Vec<oneshot::Receiver<Result<cogman_core::RecordOutcome, TaskLogError>>>,
    reply: oneshot::Sender<Result<(), TaskLogError>>,
) {
    let mut result = Ok(());
    for answer in committed {
        let outcome = answer.await.unwrap_or_else(|_| {
            Err(TaskLogError::Unavailable(
                "the PostgreSQL writer has stopped".into(),
            ))
        });
        if let (Ok(()), Err(error)) = (&result, outcome) {
            result = Err(error);
        }
    }
    let _ = reply.send(result);
}

/// The held changes, by task, and the order their windows end in.
#[derive(Default)]
pub(crate) struct Stage {
    held: HashMap<TaskId, Held>,
    /// (due, task) in the order changes were first held; entries whose task was taken
    /// since (or held again, with a later due) are skipped.
    expiries: VecDeque<(Instant, TaskId)>,
}

impl Stage {
    /// The changes held for `task`, oldest first.
    pub(crate) fn held(&self, task: TaskId) -> &[StateChange] {
        self.held
            .get(&task)
            .map_or(&[], |held| held.changes.as_slice())
    }

    fn next_due(&self) -> Option<Instant> {
        self.expiries.front().map(|(due, _)| *due)
    }

    /// Holds `change` until `window` from now (or with the changes its task already has
    /// held); when the stage is full or the window is zero, returns it as a write instead.
    fn hold(&mut self, change: StateChange, window: Duration) -> Option<Op> {
        if let Some(held) = self.held.get_mut(&change.task_id) {
            held.changes.push(change);
            return None;
        }
        if window.is_zero() || self.held.len() >= MAX_HELD_TASKS {
            return Some(unanswered(vec![change]));
        }
        let due = Instant::now() + window;
        self.expiries.push_back((due, change.task_id));
        self.held.insert(
            change.task_id,
            Held {
                changes: vec![change],
                due,
            },
        );
        None
    }

    /// `op`, carrying the held changes of its task (when it is a state change) as priors.
    fn merge(&mut self, op: Op) -> Op {
        match op {
            Op::Record {
                change,
                mut prior,
                reply,
            } => {
                if let Some(held) = self.held.remove(&change.task_id) {
                    let mut changes = held.changes;
                    changes.append(&mut prior);
                    prior = changes;
                }
                Op::Record {
                    change,
                    prior,
                    reply,
                }
            }
            create @ Op::Create { .. } => create,
        }
    }

    /// The writes of every task whose window ended by `now`.
    fn take_due(&mut self, now: Instant) -> Vec<Op> {
        let mut ops = Vec::new();
        while let Some(&(due, task)) = self.expiries.front() {
            if due > now {
                break;
            }
            self.expiries.pop_front();
            if self.held.get(&task).is_some_and(|held| held.due == due)
                && let Some(held) = self.held.remove(&task)
            {
                ops.push(unanswered(held.changes));
            }
        }
        ops
    }

    /// The writes of every held change, each with a receiver of its answer.
    fn take_all(
        &mut self,
    ) -> (
        Vec<Op>,
        Vec<oneshot::Receiver<Result<cogman_core::RecordOutcome, TaskLogError>>>,
    ) {
        self.expiries.clear();
        let mut ops = Vec::with_capacity(self.held.len());
        let mut answers = Vec::with_capacity(self.held.len());
        for (_, held) in self.held.drain() {
            let (reply, answer) = oneshot::channel();
            let mut changes = held.changes;
            let change = changes.pop().expect("invariant: a held task has a change");
            ops.push(Op::Record {
                change,
                prior: changes,
                reply: Some(reply),
            });
            answers.push(answer);
        }
        (ops, answers)
    }
}

/// The write of `changes` (oldest first, at least one), nobody waiting for its answer.
fn unanswered(mut changes: Vec<StateChange>) -> Op {
    let change = changes.pop().expect("invariant: at least one change");
    Op::Record {
        change,
        prior: changes,
        reply: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cogman_core::TaskState;

    const WINDOW: Duration = Duration::from_secs(60);

    /// Holds a change of `task` to each of `states`, in order; none may be written at once.
    fn hold_all(stage: &mut Stage, task: TaskId, states: &[TaskState]) {
        for state in states {
            let written = stage.hold(StateChange::new(task, *state), WINDOW);
            assert!(written.is_none(), "{state} is held");
        }
    }

    /// A change of `task` to `state` that a caller waits for.
    fn answered(task: TaskId, state: TaskState) -> Op {
        let (reply, _answer) = oneshot::channel();
        Op::Record {
            change: StateChange::new(task, state),
            prior: Vec::new(),
            reply: Some(reply),
        }
    }

    /// The state of a record, the states of its priors, and whether anyone waits for it.
    fn parts(op: &Op) -> (TaskState, Vec<TaskState>, bool) {
        match op {
            Op::Record {
                change,
                prior,
                reply,
            } => (
                change.state,
                prior.iter().map(|c| c.state).collect(),
                reply.is_some(),
            ),
            Op::Create { .. } => panic!("expected a record"),
        }
    }

    #[test]
    fn a_later_write_takes_the_held_changes_of_its_task_in_order() {
        let mut stage = Stage::default();
        let (task, other) = (TaskId::new(), TaskId::new());
        hold_all(
            &mut stage,
            task,
            &[TaskState::Queued, TaskState::InProgress],
        );
        hold_all(&mut stage, other, &[TaskState::Queued]);
        let merged = stage.merge(answered(task, TaskState::Success));
        assert_eq!(
            parts(&merged),
            (
                TaskState::Success,
                vec![TaskState::Queued, TaskState::InProgress],
                true
            )
        );
        // The other task is still held; its window has not ended.
        assert!(stage.take_due(Instant::now()).is_empty());
        let due = stage.take_due(Instant::now() + WINDOW);
        assert_eq!(due.len(), 1);
        assert_eq!(parts(&due[0]), (TaskState::Queued, vec![], false));
        assert!(stage.held.is_empty());
    }

    #[test]
    fn a_zero_window_writes_at_once_and_flush_takes_everything() {
        let mut stage = Stage::default();
        let task = TaskId::new();
        let op = stage
            .hold(
                StateChange::new(task, TaskState::InProgress),
                Duration::ZERO,
            )
            .expect("a zero window holds nothing");
        assert_eq!(parts(&op), (TaskState::InProgress, vec![], false));

        hold_all(
            &mut stage,
            task,
            &[TaskState::Queued, TaskState::InProgress],
        );
        let (ops, answers) = stage.take_all();
        assert_eq!((ops.len(), answers.len()), (1, 1));
        assert_eq!(
            parts(&ops[0]),
            (TaskState::InProgress, vec![TaskState::Queued], true)
        );
        assert!(stage.next_due().is_none());
        assert!(stage.held(task).is_empty());
    }

    #[test]
    fn a_task_taken_by_a_write_is_not_written_again_when_its_window_ends() {
        let mut stage = Stage::default();
        let task = TaskId::new();
        hold_all(&mut stage, task, &[TaskState::InProgress]);
        assert_eq!(stage.held(task).len(), 1, "reads see the held change");
        let _ = stage.merge(answered(task, TaskState::Success));
        assert!(stage.take_due(Instant::now() + WINDOW).is_empty());
        assert!(stage.next_due().is_none());
    }
}
