//! Groups: members that run side by side, sent together and followed by
//! [`Client::group_status`]. Member ids are derived from the workflow id ([`member_id`]);
//! chords send their members the same way.

use chrono::{DateTime, Utc};
use cogman_core::{StatusCounts, Task, TaskId, TaskSpec, TaskState, ValidationError, WorkflowLink};
use futures::{StreamExt as _, TryStreamExt as _};
use serde::Serialize;

use super::{MAX_GROUP_MEMBERS, WorkflowKind, attempts, check_count, check_task, member_id};
use crate::client::{Client, SendReceipt};
use crate::error::Error;

/// Member reads in flight at once in [`Client::group_status`].
const READ_AHEAD: usize = 16;

/// The answer to [`Client::send_group`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupReceipt {
    /// The id shared by every member (in each member's `workflow.workflow_id`).
    pub workflow_id: TaskId,
    /// One receipt per member, in the order the members were given.
    pub members: Vec<SendReceipt>,
}

impl GroupReceipt {
    /// The member ids, in member order (what [`Client::group_status`] takes).
    pub fn ids(&self) -> Vec<TaskId> {
        self.members.iter().map(|m| m.id).collect()
    }
}

/// Where the members of a group (or chord) are, each counted by its latest attempt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GroupStatus {
    /// Members per state of their latest attempt (a retried member counts once, as its
    /// newest attempt).
    pub counts: StatusCounts,
    /// Members with no recorded attempt (not sent, or their records expired).
    pub missing: u64,
    /// True when every member's latest attempt has ended: `success`, `failed` or `cancelled`.
    pub done: bool,
}

impl GroupStatus {
    /// Members whose latest attempt is in `state`.
    pub fn count(&self, state: TaskState) -> u64 {
        self.counts.get(state)
    }
}

impl Client {
    /// Sends a group: `tasks` run side by side, each as an ordinary task with its own retries.
    ///
    /// # Errors
    /// [`Error::Validation`] when there are no tasks or more than
    /// [`MAX_GROUP_MEMBERS`], or a task is invalid — nothing is written then; otherwise as
    /// [`Client::send_task`] (members sent before the failure are cancelled).
    pub async fn send_group(&self, tasks: Vec<TaskSpec>) -> Result<GroupReceipt, Error> {
        let now = Utc::now();
        check_members(self, &tasks, WorkflowKind::Group, now)?;
        let workflow_id = TaskId::new();
        let link = WorkflowLink {
            workflow_id,
            kind: WorkflowKind::Group,
            size: member_count(&tasks),
            then: Vec::new(),
            index: None,
            callback_id: None,
        };
        let members = send_members(self, tasks, &link, now).await?;
        Ok(GroupReceipt {
            workflow_id,
            members,
        })
    }

    /// The status of the group (or chord) whose member ids are `members`: each member is
    /// counted by its latest attempt (the newest task whose `original_task_id` is the member).
    ///
    /// # Errors
    /// [`Error::TaskLog`] when the log cannot be read.
    pub async fn group_status(&self, members: &[TaskId]) -> Result<GroupStatus, Error> {
        let log = self.log().as_ref();
        let latest: Vec<Option<Task>> =
            futures::stream::iter(members.iter().map(|&id| attempts::latest(log, id)))
                .buffered(READ_AHEAD)
                .try_collect()
                .await?;
        let mut status = GroupStatus {
            done: true,
            ..GroupStatus::default()
        };
        for task in latest {
            match task {
                Some(task) => {
                    status.counts.add(task.status, 1);
                    status.done &= task.status.is_final() && task.status != TaskState::Retry;
                }
                None => {
                    status.missing += 1;
                    status.done = false;
                }
            }
        }
        Ok(status)
    }
}

/// Refuses an empty or oversized group, or one with an invalid member; writes nothing.
pub(super) fn check_members(
    client: &Client,
    specs: &[TaskSpec],
    kind: WorkflowKind,
    now: DateTime<Utc>,
) -> Result<(), ValidationError> {
    check_count(kind, specs.len(), MAX_GROUP_MEMBERS)?;
    let total = specs.len();
    for (i, spec) in specs.iter().enumerate() {
        check_task(
            client,
            spec,
            || format!("{kind} member {} of {total}", i + 1),
            now,
        )?;
    }
    Ok(())
}

/// The member count of a checked group.
pub(super) fn member_count(specs: &[TaskSpec]) -> u32 {
    u32::try_from(specs.len()).expect("invariant: a group has at most MAX_GROUP_MEMBERS members")
}

/// Sends checked members in order, member `i` with id [`member_id`]`(workflow_id, i)` and
/// `link` at index `i`. If one cannot be sent, those already sent are cancelled (as far as
/// the log allows) and the error is returned.
pub(super) async fn send_members(
    client: &Client,
    specs: Vec<TaskSpec>,
    link: &WorkflowLink,
    now: DateTime<Utc>,
) -> Result<Vec<SendReceipt>, Error> {
    let mut sent = Vec::with_capacity(specs.len());
    for (index, spec) in (0u32..).zip(specs) {
        let member_link = WorkflowLink {
            index: Some(index),
            ..link.clone()
        };
        let mut task = Task::from_spec(
            TaskSpec {
                workflow: Some(member_link),
                ..spec
            },
            now,
        );
        task.id = member_id(link.workflow_id, index);
        task.original_task_id = task.id;
        match client.dispatch(task).await {
            Ok(receipt) => sent.push(receipt),
            Err(error) => {
                tracing::warn!(workflow_id = %link.workflow_id, index, %error, "a {} member could not be sent; cancelling the members sent", link.kind);
                for receipt in &sent {
                    if let Err(error) = client.cancel(receipt.id).await {
                        tracing::warn!(task_id = %receipt.id, %error, "could not cancel a member of a workflow that failed to send");
                    }
                }
                return Err(error);
            }
        }
    }
    Ok(sent)
}
