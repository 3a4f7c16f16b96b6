//! [`Op`]: one write queued for the group-commit writer (a create, or a state change with the
//! held-back changes of its task) and where its answer goes. The holding stage (`hold`) merges
//! and sends them on; the writer (`writer`) applies them in batches.

use cogman_core::{RecordOutcome, StateChange, Task, TaskLogError, Weighed};
use tokio::sync::oneshot;

/// Where the answer to a create goes.
pub(crate) type CreateReply = oneshot::Sender<Result<(), TaskLogError>>;
/// Where the answer to a state change goes.
pub(crate) type RecordReply = oneshot::Sender<Result<RecordOutcome, TaskLogError>>;

/// One queued write and where its answer goes.
pub(crate) enum Op {
    Create {
        task: Box<Task>,
        reply: CreateReply,
    },
    /// `change`, after the held-back `prior` changes of the same task (oldest first); `reply`
    /// is `None` when nobody waits for the answer.
    Record {
        change: StateChange,
        prior: Vec<StateChange>,
        reply: Option<RecordReply>,
    },
}

impl Weighed for Op {
    fn weight(&self) -> usize {
        match self {
            Op::Create { task, .. } => {
                task.payload.len() + task.result.as_ref().map_or(0, Vec::len) + 256
            }
            Op::Record { change, prior, .. } => std::iter::once(change)
                .chain(prior)
                .map(|c| c.result.as_ref().map_or(0, Vec::len) + 128)
                .sum(),
        }
    }
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Create { task, .. } => write!(f, "Create({})", task.id),
            Op::Record { change, prior, .. } => write!(
                f,
                "Record({}, {}, {} prior)",
                change.task_id,
                change.state,
                prior.len()
            ),
        }
    }
}
