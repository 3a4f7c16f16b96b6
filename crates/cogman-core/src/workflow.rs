//! Links that tie a task to a workflow: a chain (each step receives the previous step's
//! result as its payload), a group (tasks that run side by side) or a chord (a group whose
//! callback runs once every member has succeeded).

use serde::{Deserialize, Serialize};

use crate::task::{Priority, TaskId};

/// Which kind of workflow a task belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowKind {
    /// Steps run one after another.
    Chain,
    /// Members run side by side.
    Group,
    /// A group with a callback that runs after all members succeed.
    Chord,
}

/// A step still to run in a chain, or a chord's callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextStep {
    /// Handler name of the step.
    pub name: String,
    /// Its priority.
    pub priority: Priority,
    /// Its retry budget.
    pub retry: u32,
    /// Its handler timeout in milliseconds.
    pub timeout_ms: Option<u64>,
}

/// A task's membership of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowLink {
    /// The id shared by every task of the workflow.
    pub workflow_id: TaskId,
    /// Chain, group or chord.
    pub kind: WorkflowKind,
    /// Number of members (groups and chords).
    pub size: u32,
    /// Steps to run after this task succeeds (chains), or the chord callback.
    pub then: Vec<NextStep>,
}
