//! Links that tie a task to a workflow: a chain (each step receives the previous step's
//! result as its payload), a group (tasks that run side by side) or a chord (a group whose
//! callback runs once every member has succeeded). The ids of group and chord members are
//! derived from the workflow id ([`member_id`]), so a link stays small however large the
//! group is.

use std::fmt;

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

impl WorkflowKind {
    /// The stable name: `chain`, `group` or `chord`.
    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowKind::Chain => "chain",
            WorkflowKind::Group => "group",
            WorkflowKind::Chord => "chord",
        }
    }
}

impl fmt::Display for WorkflowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// Its primary key (the caller's trace key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<String>,
    /// How long after it is sent the step may run, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
}

/// A task's membership of a workflow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowLink {
    /// The id shared by every task of the workflow.
    pub workflow_id: TaskId,
    /// Chain, group or chord.
    pub kind: WorkflowKind,
    /// Number of members (groups and chords) or of steps (chains).
    pub size: u32,
    /// Steps to run after this task succeeds (chains), or the chord callback.
    pub then: Vec<NextStep>,
    /// This task's position, from 0: its step in a chain, or its member index in a group or
    /// chord. `None` for a chord's callback (and for links written before positions existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// A chord's callback task id, fixed when the chord is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_id: Option<TaskId>,
}

impl WorkflowLink {
    /// True for a member of a chord (not its callback).
    pub fn is_chord_member(&self) -> bool {
        self.kind == WorkflowKind::Chord && self.index.is_some() && self.callback_id.is_some()
    }

    /// The ids of the members of this group or chord, in member order.
    pub fn member_ids(&self) -> impl Iterator<Item = TaskId> + '_ {
        (0..self.size).map(|index| member_id(self.workflow_id, index))
    }
}

/// The id of member `index` of the group or chord `workflow_id`: the workflow id with
/// `index + 1` XOR-ed into its last four bytes. The UUID's version, variant and timestamp
/// are kept, so it is still a UUID v7 of the time the workflow was sent; distinct indexes
/// give distinct ids, none equal to the workflow id.
pub fn member_id(workflow_id: TaskId, index: u32) -> TaskId {
    let mut bytes = *workflow_id.as_uuid().as_bytes();
    let mut tail = [0u8; 4];
    tail.copy_from_slice(&bytes[12..16]);
    let mixed = u32::from_be_bytes(tail) ^ index.wrapping_add(1);
    bytes[12..16].copy_from_slice(&mixed.to_be_bytes());
    TaskId::from_uuid(uuid::Uuid::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids_are_distinct_v7_ids_of_the_workflow_time() {
        let workflow = TaskId::new();
        let ids: Vec<TaskId> = (0..1000).map(|i| member_id(workflow, i)).collect();
        let unique: std::collections::BTreeSet<_> = ids.iter().copied().collect();
        assert_eq!(unique.len(), ids.len());
        assert!(!unique.contains(&workflow));
        for id in &ids {
            assert_eq!(id.as_uuid().get_version_num(), 7);
            assert_eq!(
                id.as_uuid().get_timestamp(),
                workflow.as_uuid().get_timestamp()
            );
        }
        assert_eq!(member_id(workflow, 3), ids[3], "derivation is stable");
    }

    #[test]
    fn links_without_the_newer_fields_still_read() {
        let json = r#"{"workflow_id":"0190e5a0-0000-7000-8000-000000000000","kind":"group","size":1,
            "then":[{"name":"a","priority":"Low","retry":0,"timeout_ms":null}]}"#;
        let link: WorkflowLink = serde_json::from_str(json).expect("an old link reads");
        assert_eq!((link.index, link.callback_id), (None, None));
        assert_eq!(link.then[0].primary_key, None);
        let back: WorkflowLink =
            serde_json::from_str(&serde_json::to_string(&link).expect("serializes"))
                .expect("reads");
        assert_eq!(back, link);
    }
}
