//! Workflows: [chains](Client::send_chain) (steps run one after another, each receiving the
//! previous step's result as its payload), [groups](Client::send_group) (members run side by
//! side; [`Client::group_status`] follows them) and [chords](Client::send_chord) (a group whose
//! callback runs once every member has succeeded). `docs/workflows.md` describes the payloads
//! and the guarantees.
//!
//! - `chain`: sending a chain, and sending its next step when a step succeeds.
//! - `group`: sending members (groups and chords) and reading their status.
//! - `chord`: sending a chord, and the rule that fires or fails its callback.
//! - `attempts`: the latest attempt of a task, following its retries.
//! - this file: limits, validation, and the two hooks the worker calls.
//!
//! The worker calls [`before_success`] after a handler succeeded and before the success is
//! recorded, and [`after_final`] once an attempt's outcome is durable (and again when a
//! finished task is delivered a second time, so a crash between the two never strands a chord).

pub(crate) mod attempts;
mod chain;
mod chord;
mod group;

use chrono::{DateTime, Utc};
use cogman_core::{BrokerError, Task, TaskSpec, TaskState, TraceContext, ValidationError};

pub use chain::ChainReceipt;
pub use chord::{ChordReceipt, ChordResult};
pub use cogman_core::workflow::{NextStep, WorkflowKind, WorkflowLink, member_id};
pub use group::{GroupReceipt, GroupStatus};

use crate::client::Client;
use crate::error::Error;

/// Most steps in one chain.
pub const MAX_CHAIN_STEPS: usize = 100;

/// Most members in one group or chord.
pub const MAX_GROUP_MEMBERS: usize = 1000;

/// Worker hook, run after a handler succeeded and before its success is recorded: sends the
/// next step of a chain (so a crash can duplicate the step but never lose it).
///
/// # Errors
/// When the next step could not be recorded or handed over: the caller puts the delivery back.
pub(crate) async fn before_success(
    client: &Client,
    task: &Task,
    result: Option<&[u8]>,
    trace: Option<&TraceContext>,
) -> Result<(), Error> {
    chain::send_next(client, task, result, trace).await
}

/// Worker hook, run once an attempt's outcome is durable, and again when a finished task is
/// delivered a second time: fires or fails the callback of the chord the task is a member of.
///
/// # Errors
/// When the task log could not be read or the callback not be sent: the caller puts the
/// delivery back, and the check runs again on the next delivery.
pub(crate) async fn after_final(client: &Client, task: &Task) -> Result<(), Error> {
    match &task.workflow {
        Some(link) if link.is_chord_member() => chord::resolve(client, link).await,
        _ => Ok(()),
    }
}

/// Refuses a workflow with fewer than one or more than `max` tasks.
fn check_count(kind: WorkflowKind, len: usize, max: usize) -> Result<(), ValidationError> {
    if (1..=max).contains(&len) {
        Ok(())
    } else {
        Err(ValidationError::InvalidWorkflow(format!(
            "a {kind} takes 1 to {max} tasks; {len} were given"
        )))
    }
}

/// Checks one task of a workflow; `what` names it in the error (e.g. `chain step 2 of 3`).
fn check_task(
    client: &Client,
    spec: &TaskSpec,
    what: impl Fn() -> String,
    now: DateTime<Utc>,
) -> Result<(), ValidationError> {
    let wrap = |error| ValidationError::WorkflowTask {
        task: what(),
        error: Box::new(error),
    };
    spec.validate(client.limits(), now).map_err(wrap)?;
    if spec.workflow.is_some() {
        return Err(ValidationError::InvalidWorkflow(format!(
            "{}: its workflow link is set by cogman; leave it empty",
            what()
        )));
    }
    refuse_unique(spec, &what)
}

/// A task of a workflow carries no unique key: a duplicate step could not be answered with
/// another workflow's task, so such a workflow is refused as a whole.
fn refuse_unique(spec: &TaskSpec, what: &impl Fn() -> String) -> Result<(), ValidationError> {
    if spec.unique_key.is_some() || spec.unique_for.is_some() {
        return Err(ValidationError::InvalidWorkflow(format!(
            "{}: a workflow task cannot carry a unique key; send it alone to make it unique",
            what()
        )));
    }
    Ok(())
}

/// A step whose payload the previous step or the members produce must be sent without one.
fn check_no_payload(
    spec: &TaskSpec,
    what: impl Fn() -> String,
    source: &str,
) -> Result<(), ValidationError> {
    if spec.payload.is_empty() {
        Ok(())
    } else {
        Err(ValidationError::InvalidWorkflow(format!(
            "{} has a payload; it receives {source} instead",
            what()
        )))
    }
}

/// The step a spec describes, to be sent later; its delay counts from when it is sent.
fn step_of(spec: TaskSpec, now: DateTime<Utc>) -> NextStep {
    NextStep {
        name: spec.name,
        queue: spec.queue,
        priority: spec.priority,
        retry: spec.retry,
        timeout_ms: spec
            .timeout
            .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        primary_key: spec.primary_key,
        delay_ms: spec
            .run_at
            .map(|at| u64::try_from((at - now).num_milliseconds()).unwrap_or(0))
            .filter(|ms| *ms > 0),
    }
}

/// The spec of a stored step, now that its payload is known.
fn spec_of(step: &NextStep, payload: Vec<u8>, link: WorkflowLink, now: DateTime<Utc>) -> TaskSpec {
    let delay = step
        .delay_ms
        .map(|ms| chrono::Duration::milliseconds(i64::try_from(ms).unwrap_or(i64::MAX)));
    TaskSpec {
        trace_parent: None,
        name: step.name.clone(),
        queue: step.queue.clone(),
        payload,
        priority: step.priority,
        retry: step.retry,
        primary_key: step.primary_key.clone(),
        run_at: delay.map(|d| {
            now.checked_add_signed(d)
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        }),
        timeout: step.timeout_ms.map(std::time::Duration::from_millis),
        workflow: Some(link),
        unique_key: None,
        unique_for: None,
    }
}

/// Sends a task a workflow produced (a chain's next step, a chord's callback). A publish the
/// broker refuses for good is recorded failed by [`Client::dispatch`]: the workflow ends there,
/// visibly. Any other error is returned so the caller tries again later.
async fn send_produced(client: &Client, task: Task) -> Result<(), Error> {
    let id = task.id;
    match client.dispatch(task).await {
        Ok(_) => Ok(()),
        Err(Error::Broker(error))
            if !matches!(error, BrokerError::BufferFull { .. } | BrokerError::Closed)
                && !error.is_transient() =>
        {
            tracing::warn!(task_id = %id, %error, "the broker refused a workflow step; it is recorded failed");
            Ok(())
        }
        Err(error) => Err(error),
    }
}

/// Records `task` as failed with `reason` without running it, so users see why a workflow
/// step never ran. Its payload is not kept.
async fn record_failed(client: &Client, mut task: Task, reason: String) -> Result<(), Error> {
    tracing::info!(task_id = %task.id, %reason, "workflow step recorded failed without running");
    task.payload = Vec::new();
    task.status = TaskState::Failed;
    task.fail_error = Some(reason);
    task.updated_at = Utc::now();
    client.log().create(&task).await?;
    Ok(())
}
