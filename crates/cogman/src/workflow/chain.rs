//! Chains: steps that run one after another. The first step is sent at once; each step carries
//! the steps still to run in its link, and when it succeeds the worker sends the next one with
//! the step's result as its payload — before recording the success, so the chain can repeat a
//! step after a crash but never lose one. A step that finally fails or is cancelled ends it.

use chrono::Utc;
use cogman_core::{Task, TaskId, TaskSpec, TraceContext, WorkflowLink};
use serde::Serialize;

use super::{
    WorkflowKind, check_count, check_no_payload, check_task, record_failed, send_produced, spec_of,
    step_of,
};
use crate::client::{Client, SendReceipt};
use crate::error::Error;

/// The answer to [`Client::send_chain`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReceipt {
    /// The id shared by every step (in each step's `workflow.workflow_id`).
    pub workflow_id: TaskId,
    /// The first step, sent now; later steps get their ids when they are sent.
    pub first: SendReceipt,
}

impl Client {
    /// Sends a chain: `steps` run one after another, each receiving the previous step's result
    /// (empty when it returned none) as its payload. Only the first step carries a payload of
    /// its own. A later step's delay counts from when the step before it succeeded.
    ///
    /// # Errors
    /// [`Error::Validation`] when there are no steps or more than
    /// [`MAX_CHAIN_STEPS`](super::MAX_CHAIN_STEPS), a step is invalid, a later step has a
    /// payload, or a step's workflow link is set — nothing is written then; otherwise as
    /// [`Client::send_task`].
    pub async fn send_chain(&self, steps: Vec<TaskSpec>) -> Result<ChainReceipt, Error> {
        let now = Utc::now();
        check_count(WorkflowKind::Chain, steps.len(), super::MAX_CHAIN_STEPS)?;
        let total = steps.len();
        for (i, spec) in steps.iter().enumerate() {
            let what = || format!("chain step {} of {total}", i + 1);
            check_task(self, spec, what, now)?;
            if i > 0 {
                check_no_payload(spec, what, "the previous step's result")?;
            }
        }
        let workflow_id = TaskId::new();
        let mut steps = steps.into_iter();
        let first = steps
            .next()
            .expect("invariant: a chain has at least one step (checked above)");
        let link = WorkflowLink {
            workflow_id,
            kind: WorkflowKind::Chain,
            size: u32::try_from(total)
                .expect("invariant: a chain has at most MAX_CHAIN_STEPS steps"),
            then: steps.map(|spec| step_of(spec, now)).collect(),
            index: Some(0),
            callback_id: None,
        };
        let first = self
            .dispatch(Task::from_spec(
                TaskSpec {
                    workflow: Some(link),
                    ..first
                },
                now,
            ))
            .await?;
        Ok(ChainReceipt { workflow_id, first })
    }
}

/// Sends the step after `task` with `result` as its payload, when `task` is a chain step with
/// steps left. A result too large to be a payload ends the chain: the next step is recorded
/// failed with the reason. The next step continues `trace` (the run of this step).
pub(super) async fn send_next(
    client: &Client,
    task: &Task,
    result: Option<&[u8]>,
    trace: Option<&TraceContext>,
) -> Result<(), Error> {
    let Some(link) = task
        .workflow
        .as_ref()
        .filter(|link| link.kind == WorkflowKind::Chain)
    else {
        return Ok(());
    };
    let Some((step, rest)) = link.then.split_first() else {
        return Ok(());
    };
    let now = Utc::now();
    let next_link = WorkflowLink {
        then: rest.to_vec(),
        index: link.index.map(|i| i + 1),
        ..link.clone()
    };
    // The next step's spans are children of the run of this one.
    let spec = TaskSpec {
        trace_parent: trace.cloned(),
        ..spec_of(step, result.unwrap_or_default().to_vec(), next_link, now)
    };
    match spec.validate(client.limits(), now) {
        Ok(()) => send_produced(client, Task::from_spec(spec, now)).await,
        Err(error) => {
            let reason = format!(
                "{}: the previous step's result cannot be its payload: {error}",
                position(link)
            );
            record_failed(client, Task::from_spec(spec, now), reason).await
        }
    }
}

/// `chain step N of M` for the step after the one `link` belongs to.
fn position(link: &WorkflowLink) -> String {
    match link.index {
        Some(index) => format!("chain step {} of {}", index + 2, link.size),
        None => "next chain step".to_owned(),
    }
}
