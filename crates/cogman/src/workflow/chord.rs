//! Chords: a group whose callback runs once every member has succeeded, with the members'
//! results as its payload. The callback's id is fixed when the chord is sent and stored in
//! every member's link, so members that finish together and both fire it create the same task:
//! the log keeps one record and a worker never runs a finished task again.
//!
//! The rule ([`resolve`]) runs after a member's outcome is durable. Members record their
//! success before checking, so the last one to finish always sees every member done: a chord
//! never hangs.

use chrono::Utc;
use cogman_core::{Task, TaskId, TaskSpec, TaskState, WorkflowLink};
use serde::{Deserialize, Serialize};

use super::group::{self, check_members, member_count};
use super::{
    MAX_GROUP_MEMBERS, WorkflowKind, attempts, check_no_payload, check_task, member_id,
    record_failed, send_produced, spec_of, step_of,
};
use crate::client::{Client, SendReceipt};
use crate::error::Error;

/// The answer to [`Client::send_chord`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChordReceipt {
    /// The id shared by the members and the callback.
    pub workflow_id: TaskId,
    /// One receipt per member, in the order the members were given.
    pub members: Vec<SendReceipt>,
    /// The callback's id: the task is recorded when every member has succeeded (or recorded
    /// `failed` when a member failed).
    pub callback_id: TaskId,
}

impl ChordReceipt {
    /// The member ids, in member order (what [`Client::group_status`] takes).
    pub fn ids(&self) -> Vec<TaskId> {
        self.members.iter().map(|m| m.id).collect()
    }
}

/// One member's entry in a chord callback's payload, which is a JSON array of these in
/// member order: `{"task_id": "<uuid>", "result": "<text>"|null, "result_base64": "<base64>"|null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChordResult {
    /// The member's id (its first attempt's, as in the receipt), even when a retry succeeded.
    pub task_id: TaskId,
    /// The result as text when it is valid UTF-8; `None` when it is not, or there is none.
    pub result: Option<String>,
    /// The result bytes (base64 in the JSON); `None` when the member returned no result.
    #[serde(
        rename = "result_base64",
        default,
        with = "cogman_core::task::base64_opt"
    )]
    pub bytes: Option<Vec<u8>>,
}

impl ChordResult {
    /// Reads a chord callback's payload.
    ///
    /// # Errors
    /// When `payload` is not a JSON array of chord results.
    pub fn parse(payload: &[u8]) -> Result<Vec<ChordResult>, serde_json::Error> {
        serde_json::from_slice(payload)
    }

    fn of(task_id: TaskId, result: Option<Vec<u8>>) -> ChordResult {
        let text = result
            .as_deref()
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .map(str::to_owned);
        ChordResult {
            task_id,
            result: text,
            bytes: result,
        }
    }
}

impl Client {
    /// Sends a chord: `members` run side by side like a group; once every member has
    /// succeeded (retries included), `callback` runs once with the members' results as its
    /// payload (see [`ChordResult`]). When a member finally fails or is cancelled, the callback
    /// is recorded `failed` with the reason and never runs.
    ///
    /// # Errors
    /// [`Error::Validation`] when there are no members or more than
    /// [`MAX_GROUP_MEMBERS`](super::MAX_GROUP_MEMBERS), a task is invalid, or the callback
    /// has a payload — nothing is written then; otherwise as [`Client::send_task`] (members
    /// sent before the failure are cancelled, which fails the chord).
    pub async fn send_chord(
        &self,
        members: Vec<TaskSpec>,
        callback: TaskSpec,
    ) -> Result<ChordReceipt, Error> {
        let now = Utc::now();
        check_members(self, &members, WorkflowKind::Chord, now)?;
        let what = || "chord callback".to_owned();
        check_task(self, &callback, what, now)?;
        check_no_payload(&callback, what, "the members' results")?;
        let workflow_id = TaskId::new();
        let callback_id = TaskId::new();
        let link = WorkflowLink {
            workflow_id,
            kind: WorkflowKind::Chord,
            size: member_count(&members),
            then: vec![step_of(callback, now)],
            index: None,
            callback_id: Some(callback_id),
        };
        let members = group::send_members(self, members, &link, now).await?;
        Ok(ChordReceipt {
            workflow_id,
            members,
            callback_id,
        })
    }
}

/// The firing rule, run for a member of the chord `link` after its outcome is durable: when
/// every member's latest attempt succeeded, send the callback; when one finally failed or was
/// cancelled, record the callback failed; otherwise leave it to a member still running.
///
/// Members are read starting at this one and going round, stopping at the first that has not
/// finished, so a check usually reads a few members and only the last one reads them all.
pub(super) async fn resolve(client: &Client, link: &WorkflowLink) -> Result<(), Error> {
    let (Some(index), Some(callback_id), Some(callback)) =
        (link.index, link.callback_id, link.then.first())
    else {
        return Ok(());
    };
    let size = link.size;
    if size == 0 || size as usize > MAX_GROUP_MEMBERS {
        // Not a link cogman wrote (a foreign client's, say): nothing sensible to check.
        tracing::warn!(workflow_id = %link.workflow_id, size, "a chord link with an impossible size is ignored");
        return Ok(());
    }
    let log = client.log().as_ref();
    if already_resolved(client, callback_id).await? {
        return Ok(());
    }
    let mut results = vec![None; size as usize];
    for step in 0..size {
        let i = (index % size + step) % size;
        let id = member_id(link.workflow_id, i);
        let Some(latest) = attempts::latest(log, id).await? else {
            return Ok(());
        };
        match latest.status {
            TaskState::Success => results[i as usize] = Some(ChordResult::of(id, latest.result)),
            TaskState::Failed | TaskState::Cancelled => {
                let why = latest.fail_error.as_deref().unwrap_or("no reason recorded");
                let reason = format!("chord member {id} {}: {why}", latest.status);
                let spec = spec_of(callback, Vec::new(), callback_link(link), Utc::now());
                return record_failed(client, callback_task(spec, callback_id), reason).await;
            }
            _ => return Ok(()),
        }
    }
    // Asked again just before sending: members that finish together read every member at the
    // same time, and this narrows the window in which both send the callback.
    if already_resolved(client, callback_id).await? {
        return Ok(());
    }
    let results: Vec<ChordResult> = results.into_iter().flatten().collect();
    let payload = serde_json::to_vec(&results).expect("invariant: chord results serialize to JSON");
    let now = Utc::now();
    let spec = spec_of(callback, payload, callback_link(link), now);
    match spec.validate(client.limits(), now) {
        Ok(()) => send_produced(client, callback_task(spec, callback_id)).await,
        Err(error) => {
            let reason =
                format!("chord callback: the members' results cannot be its payload: {error}");
            record_failed(client, callback_task(spec, callback_id), reason).await
        }
    }
}

/// True when the callback was sent (or recorded failed) by another member's check. A callback
/// recorded but still `initiated` may not have reached the broker: it is sent again.
async fn already_resolved(client: &Client, callback_id: TaskId) -> Result<bool, Error> {
    let callback = client.log().get(callback_id).await?;
    Ok(callback.is_some_and(|task| task.status != TaskState::Initiated))
}

/// The callback's own link: in the chord, at no member index.
fn callback_link(link: &WorkflowLink) -> WorkflowLink {
    WorkflowLink {
        then: Vec::new(),
        index: None,
        ..link.clone()
    }
}

/// The callback task, with the id fixed when the chord was sent.
fn callback_task(spec: TaskSpec, callback_id: TaskId) -> Task {
    let mut task = Task::from_spec(spec, Utc::now());
    task.id = callback_id;
    task.original_task_id = callback_id;
    task
}
