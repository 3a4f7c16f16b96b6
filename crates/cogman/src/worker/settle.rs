//! Settles a finished attempt: decides the next state from the [`Attempt`] and the retry
//! budget, sends the next attempt when there is one, records the outcome durably (retrying
//! while the log is unreachable) and only then acks the delivery. Workflow hooks run around
//! the record: a chain's next step before it, a chord's check after it.

use std::time::Duration;

use chrono::Utc;
use cogman_core::{
    Delivery, Disposition, RecordOutcome, StateChange, Task, TaskState, TraceContext,
};

use super::WorkerInner;
use super::execute::Attempt;
use crate::telemetry::SpanKind;

/// What to record for an attempt, and whether to retry.
struct Verdict {
    state: TaskState,
    error: Option<String>,
    result: Option<Vec<u8>>,
    retry_after: Option<Duration>,
}

fn verdict(inner: &WorkerInner, task: &Task, attempt: Attempt) -> Option<Verdict> {
    let failure = |message: String, after: Option<Duration>| {
        if task.retry > 0 {
            let delay = after.unwrap_or_else(|| inner.options.backoff.delay(task.attempt));
            Verdict {
                state: TaskState::Retry,
                error: Some(message),
                result: None,
                retry_after: Some(delay),
            }
        } else {
            let message = if task.attempt > 0 {
                format!("{message} (no retries left)")
            } else {
                message
            };
            Verdict {
                state: TaskState::Failed,
                error: Some(message),
                result: None,
                retry_after: None,
            }
        }
    };
    let final_state = |state, message: String| Verdict {
        state,
        error: Some(message),
        result: None,
        retry_after: None,
    };
    Some(match attempt {
        Attempt::Succeeded(output) => match output.into_bytes() {
            Some(result) if result.len() > inner.options.max_result_bytes => final_state(
                TaskState::Failed,
                format!(
                    "result is {} bytes; the limit is {} bytes (max_result_bytes)",
                    result.len(),
                    inner.options.max_result_bytes
                ),
            ),
            result => Verdict {
                state: TaskState::Success,
                error: None,
                result,
                retry_after: None,
            },
        },
        Attempt::Failed(error) => match error.disposition() {
            Disposition::Retry => failure(error.message().to_owned(), None),
            Disposition::RetryAfter(after) => failure(error.message().to_owned(), Some(after)),
            Disposition::Fail => final_state(TaskState::Failed, error.message().to_owned()),
            Disposition::Cancel => final_state(TaskState::Cancelled, error.message().to_owned()),
        },
        Attempt::Panicked(message) => failure(format!("handler panicked: {message}"), None),
        Attempt::TimedOut(after) => failure(format!("timed out after {after:?}"), None),
        Attempt::CancelRequested => {
            final_state(TaskState::Cancelled, "cancelled on request".into())
        }
        Attempt::Interrupted => return None,
    })
}

/// Records the outcome of `attempt`, sends the retry if any, then acks.
pub(crate) async fn settle(
    inner: &WorkerInner,
    delivery: Delivery,
    attempt: Attempt,
    ran_for: Duration,
    ran: Option<TraceContext>,
) {
    let task = delivery.task().clone();
    // The outcome's record (and what comes with it: retry, next chain step, ack), a child of
    // the run; the attempts it sends continue the trace from the run.
    let mut span =
        inner
            .client
            .tracer()
            .start("cogman.record", SpanKind::Client, ran.as_ref(), &task);
    let Some(verdict) = verdict(inner, &task, attempt) else {
        if let Err(error) = delivery.requeue().await {
            tracing::warn!(task_id = %task.id, %error, "could not put an interrupted task back; it returns after its lease");
        }
        return;
    };
    let mut next_attempt = None;
    if let Some(after) = verdict.retry_after
        && !cancelled_meanwhile(inner, &task).await
    {
        let now = Utc::now();
        let run_at = now + chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX);
        let mut next = task.next_attempt(run_at, now);
        next.trace.clone_from(&ran);
        next_attempt = Some(next.id);
        if let Err(error) = inner.client.dispatch(next).await {
            tracing::error!(task_id = %task.id, %error, "could not send the retry; the task will be delivered again");
            inner.stats.record_error();
            // Not acked: the broker delivers it again and the retry is tried again.
            if let Err(error) = delivery.requeue().await {
                tracing::warn!(task_id = %task.id, %error, "could not put the task back; it returns after its lease");
            }
            return;
        }
    }
    // Workflow hook: a chain's next step is sent before the success is recorded (a crash may
    // duplicate it, never lose it).
    if verdict.state == TaskState::Success
        && let Err(error) = crate::workflow::before_success(
            &inner.client,
            &task,
            verdict.result.as_deref(),
            ran.as_ref(),
        )
        .await
    {
        tracing::error!(task_id = %task.id, %error, "could not send the next chain step; the task will be delivered again");
        inner.stats.record_error();
        if let Err(error) = delivery.requeue().await {
            tracing::warn!(task_id = %task.id, %error, "could not put the task back; it returns after its lease");
        }
        return;
    }
    span.set("cogman.task.state", || verdict.state.to_string());
    let mut change = StateChange::new(task.id, verdict.state)
        .duration(ran_for)
        .worker(inner.id.clone());
    change.error = verdict.error;
    change.result = verdict.result;
    let Some(outcome) = inner
        .record_or_create(&task, &change, super::Write::Durable)
        .await
    else {
        if let Err(error) = delivery.requeue().await {
            tracing::warn!(task_id = %task.id, %error, "could not put a task back");
        }
        return;
    };
    // Cancelled between the check and the record: the attempt just sent must not run either.
    if let (
        Some(next),
        RecordOutcome::Stale {
            current: TaskState::Cancelled,
        },
    ) = (next_attempt, outcome)
    {
        cancel_sent_attempt(inner, &task, next).await;
    }
    // The task had already succeeded: another delivery of it ran too (or a replayed write).
    if verdict.state == TaskState::Success
        && matches!(
            outcome,
            RecordOutcome::Unchanged
                | RecordOutcome::Stale {
                    current: TaskState::Success
                }
        )
    {
        inner.stats.record_duplicate();
    }
    release_if_ended(inner, &task, verdict.state, outcome).await;
    inner.stats.record(verdict.state);
    if let Some(observer) = inner.observer.get() {
        observer.settled(&task, verdict.state, ran_for);
    }
    super::TaskObserver::settled(&*inner.metrics, &task, verdict.state, ran_for);
    // Workflow hook: once the outcome is durable, a chord member fires or fails the callback.
    super::resolve_workflow_then_ack(inner, &task, delivery).await;
}

/// Whether the task was cancelled while its attempt ran (the cancel of any attempt id stops
/// the chain): then no further attempt is sent. A log that cannot be read counts as not
/// cancelled; the record that follows finds out.
async fn cancelled_meanwhile(inner: &WorkerInner, task: &Task) -> bool {
    match inner.client.log().get(task.id).await {
        Ok(Some(current)) => current.status == TaskState::Cancelled,
        Ok(None) => false,
        Err(error) => {
            tracing::warn!(task_id = %task.id, %error, "could not check for a cancel before retrying");
            false
        }
    }
}

/// Cancels the attempt `next` that was sent for `task` while the task was being cancelled.
async fn cancel_sent_attempt(inner: &WorkerInner, task: &Task, next: cogman_core::TaskId) {
    let change = StateChange::new(next, TaskState::Cancelled).error("cancelled on request");
    if let Err(error) = inner.client.log().record(&change).await {
        tracing::warn!(task_id = %task.id, next_attempt = %next, %error, "could not cancel the attempt sent while the task was cancelled");
    }
}

/// Releases the unique key `task`'s chain holds "until finished" when the state the log now
/// holds for it (`state` as written, or the newer one a stale `outcome` names) ends the chain:
/// success, failed or cancelled — not `retry`, whose next attempt keeps the key.
pub(crate) async fn release_if_ended(
    inner: &WorkerInner,
    task: &Task,
    state: TaskState,
    outcome: RecordOutcome,
) {
    if task.unique_key.is_none() {
        return;
    }
    let held = match outcome {
        RecordOutcome::Stale { current } => current,
        _ => state,
    };
    if matches!(
        held,
        TaskState::Success | TaskState::Failed | TaskState::Cancelled
    ) {
        crate::client::release_unique(inner.client.log().as_ref(), task).await;
    }
}
