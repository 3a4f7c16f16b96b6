//! Links that tie a task to a workflow: a chain (each step receives the previous step's
//! result as its payload), a group (tasks that run side by side) or a chord (a group whose
//! callback runs once every member has succeeded). The ids of group and chord members are
//! derived from the workflow id ([`member_id`]), so a link stays small however large the
//! group is.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::task::{
    Limits, Priority, TaskId, ValidationError, default_queue, validate_key_and_retry,
    validate_name, validate_queue_name,
};

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
    /// The named queue the step goes to (the step's own; `default` when a message names none).
    #[serde(default = "default_queue")]
    pub queue: String,
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

impl NextStep {
    /// Checks the step against the rules of a task sent by a client.
    ///
    /// # Errors
    /// The first [`ValidationError`] found.
    pub fn validate(&self, limits: &Limits) -> Result<(), ValidationError> {
        validate_name(&self.name, limits)?;
        validate_queue_name(&self.queue)?;
        validate_key_and_retry(self.primary_key.as_deref(), self.retry, limits)?;
        if self.timeout_ms == Some(0) {
            return Err(ValidationError::ZeroTimeout);
        }
        let max_ms = u64::try_from(limits.max_delay.as_millis()).unwrap_or(u64::MAX);
        if let Some(ms) = self.delay_ms
            && ms > max_ms
        {
            return Err(ValidationError::DelayTooLong {
                secs: ms / 1000,
                max_secs: limits.max_delay.as_secs(),
            });
        }
        Ok(())
    }
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

    /// Checks a link read from outside (a message on the broker) for a task whose first
    /// attempt is `original_task_id`: every step in `then` passes the rules of a task sent by
    /// a client (name, primary key, retry budget, timeout, delay), and the shape is one
    /// cogman's builders make, so the link can be followed to its end and never only half:
    ///
    /// - `size` ≥ 1 and `index` < `size`;
    /// - a chain step at `index` has the `size − index − 1` steps after it in `then`;
    /// - a group member has an empty `then` and no `callback_id`;
    /// - a chord member has a `callback_id` and exactly one entry in `then` (the callback);
    ///   the callback itself (no `index`) has an empty `then`;
    /// - a group or chord member's first attempt has the id derived from its index
    ///   ([`member_id`]), and a chord callback's is the `callback_id`, so completions are
    ///   found where the chord looks for them.
    ///
    /// # Errors
    /// [`ValidationError::InvalidWorkflow`] for the shape, or
    /// [`ValidationError::WorkflowTask`] naming the step in `then` that was refused.
    pub fn validate(
        &self,
        original_task_id: TaskId,
        limits: &Limits,
    ) -> Result<(), ValidationError> {
        let invalid = |what: String| Err(ValidationError::InvalidWorkflow(what));
        if self.size == 0 {
            return invalid("size is 0".into());
        }
        if let Some(index) = self.index
            && index >= self.size
        {
            return invalid(format!("index {index} is not below size {}", self.size));
        }
        let steps = self.then.len();
        match (self.kind, self.index) {
            (WorkflowKind::Chain, _) if self.callback_id.is_some() => {
                return invalid("a chain has no callback_id".into());
            }
            (WorkflowKind::Chain, Some(index))
                if steps as u64 != u64::from(self.size - index - 1) =>
            {
                return invalid(format!(
                    "chain step {index} of {} carries {steps} later steps, not {}",
                    self.size,
                    self.size - index - 1
                ));
            }
            (WorkflowKind::Chain, None) if steps as u64 >= u64::from(self.size) => {
                return invalid(format!(
                    "a chain of {} carries {steps} later steps",
                    self.size
                ));
            }
            (WorkflowKind::Group, _) if steps > 0 || self.callback_id.is_some() => {
                return invalid("a group member has no then and no callback_id".into());
            }
            (WorkflowKind::Group, Some(index))
                if original_task_id != member_id(self.workflow_id, index) =>
            {
                return invalid(format!("group member {index} has not its member id"));
            }
            (WorkflowKind::Chord, _) if self.callback_id.is_none() => {
                return invalid("a chord task has no callback_id".into());
            }
            (WorkflowKind::Chord, Some(index)) if steps != 1 => {
                return invalid(format!(
                    "chord member {index} carries {steps} callbacks in then, not 1"
                ));
            }
            (WorkflowKind::Chord, Some(index))
                if original_task_id != member_id(self.workflow_id, index) =>
            {
                return invalid(format!("chord member {index} has not its member id"));
            }
            (WorkflowKind::Chord, None) if steps > 0 => {
                return invalid("a chord callback carries steps in then".into());
            }
            (WorkflowKind::Chord, None) if Some(original_task_id) != self.callback_id => {
                return invalid("a chord callback's id is not the callback_id".into());
            }
            _ => {}
        }
        for (i, step) in self.then.iter().enumerate() {
            step.validate(limits)
                .map_err(|error| ValidationError::WorkflowTask {
                    task: format!("then[{i}]"),
                    error: Box::new(error),
                })?;
        }
        Ok(())
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
        assert_eq!(link.then[0].queue, "default");
        let back: WorkflowLink =
            serde_json::from_str(&serde_json::to_string(&link).expect("serializes"))
                .expect("reads");
        assert_eq!(back, link);
    }

    fn step(name: &str) -> NextStep {
        NextStep {
            name: name.into(),
            queue: default_queue(),
            priority: Priority::Low,
            retry: 0,
            timeout_ms: None,
            primary_key: None,
            delay_ms: None,
        }
    }

    fn link(kind: WorkflowKind, size: u32, index: Option<u32>, then: usize) -> WorkflowLink {
        WorkflowLink {
            workflow_id: TaskId::new(),
            kind,
            size,
            then: (0..then).map(|i| step(&format!("step{i}"))).collect(),
            index,
            callback_id: (kind == WorkflowKind::Chord).then(TaskId::new),
        }
    }

    #[test]
    fn links_the_builders_make_are_valid() {
        let limits = Limits::default();
        let chain = link(WorkflowKind::Chain, 3, Some(1), 1);
        assert_eq!(chain.validate(TaskId::new(), &limits), Ok(()));
        let group = link(WorkflowKind::Group, 4, Some(2), 0);
        let member = member_id(group.workflow_id, 2);
        assert_eq!(group.validate(member, &limits), Ok(()));
        let chord = link(WorkflowKind::Chord, 2, Some(1), 1);
        let member = member_id(chord.workflow_id, 1);
        assert_eq!(chord.validate(member, &limits), Ok(()));
        let callback = WorkflowLink {
            then: Vec::new(),
            index: None,
            ..chord.clone()
        };
        let callback_id = chord.callback_id.expect("set");
        assert_eq!(callback.validate(callback_id, &limits), Ok(()));
    }

    #[test]
    fn malformed_links_and_steps_are_refused() {
        let limits = Limits::default();
        let chord = link(WorkflowKind::Chord, 2, Some(0), 2);
        let member = member_id(chord.workflow_id, 0);
        let two_callbacks = chord.validate(member, &limits).expect_err("two callbacks");
        assert!(
            two_callbacks.to_string().contains("2 callbacks"),
            "{two_callbacks}"
        );
        let one = WorkflowLink {
            then: vec![step("cb")],
            ..chord.clone()
        };
        assert!(
            one.validate(TaskId::new(), &limits).is_err(),
            "a foreign member id"
        );
        let mut cases = vec![
            link(WorkflowKind::Chain, 3, Some(0), 1),
            link(WorkflowKind::Chain, 3, Some(3), 0),
            link(WorkflowKind::Chain, 0, None, 0),
            link(WorkflowKind::Group, 2, None, 1),
        ];
        let mut hostile = link(WorkflowKind::Chain, 2, Some(0), 1);
        hostile.then[0].name = "evil\u{1b}]0;owned\u{7}\r\n".into();
        cases.push(hostile);
        let mut nul_key = link(WorkflowKind::Chain, 2, Some(0), 1);
        nul_key.then[0].primary_key = Some("a\0b".into());
        cases.push(nul_key);
        let mut zero_timeout = link(WorkflowKind::Chain, 2, Some(0), 1);
        zero_timeout.then[0].timeout_ms = Some(0);
        cases.push(zero_timeout);
        for case in cases {
            assert!(case.validate(TaskId::new(), &limits).is_err(), "{case:?}");
        }
    }
}
