//! Runs one handler call and turns everything that can happen to it — success, an error, a
//! panic, a timeout, a cancel request, a hard stop — into an [`Attempt`]. While the handler
//! runs, the delivery's lease is extended and the task log is watched for a cancel request.
//! A handler told to stop (its [`TaskContext::cancellation`] fires) gets the kill grace period
//! to return — a shell handler stops its process group in it — and is dropped after it.

use std::sync::Arc;
use std::time::Duration;

use cogman_core::{
    Delivery, Handler, Output, TaskContext, TaskError, TaskLog, TaskState, TraceContext,
};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How one handler call ended.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// The handler returned Ok.
    Succeeded(Output),
    /// The handler returned an error; its disposition decides what follows.
    Failed(TaskError),
    /// The handler panicked (recorded as a retryable failure).
    Panicked(String),
    /// The handler ran past its timeout and was stopped.
    TimedOut(Duration),
    /// Someone cancelled the task while it ran.
    CancelRequested,
    /// The worker is stopping hard: put the task back.
    Interrupted,
}

impl Attempt {
    /// Why the attempt did not succeed, for its span; `None` for a success.
    pub(crate) fn failure(&self) -> Option<String> {
        match self {
            Attempt::Succeeded(_) => None,
            Attempt::Failed(error) => Some(error.message().to_owned()),
            Attempt::Panicked(message) => Some(format!("handler panicked: {message}")),
            Attempt::TimedOut(after) => Some(format!("timed out after {after:?}")),
            Attempt::CancelRequested => Some("cancelled on request".to_owned()),
            Attempt::Interrupted => Some("interrupted: the worker stopped".to_owned()),
        }
    }
}

/// What the executor needs besides the handler.
pub(crate) struct Watch<'a> {
    pub(crate) delivery: &'a Delivery,
    pub(crate) log: &'a Arc<dyn TaskLog>,
    pub(crate) lease: Duration,
    pub(crate) timeout: Duration,
    /// How long a handler told to stop may take to return before it is dropped.
    pub(crate) kill_grace: Duration,
    pub(crate) hard_stop: &'a CancellationToken,
}

/// How often a running task renews its lease and checks for a cancel request.
fn watch_interval(lease: Duration) -> Duration {
    (lease / 3).clamp(Duration::from_millis(50), Duration::from_secs(2))
}

pub(crate) async fn run(
    handler: Arc<dyn Handler>,
    ctx: TaskContext,
    payload: Vec<u8>,
    watch: Watch<'_>,
) -> Attempt {
    let token = ctx.cancellation.clone();
    let task_id = ctx.task_id;
    // The handler runs inside its task's span: what it logs names the task and its trace.
    let span = tracing::info_span!(
        "cogman.run",
        %task_id,
        name = %ctx.name,
        attempt = ctx.attempt,
        traceparent = ctx.trace.as_ref().map(TraceContext::traceparent),
    );
    let mut call = tokio::spawn(async move { handler.call(ctx, payload).await }.instrument(span));
    let deadline = tokio::time::sleep(watch.timeout);
    tokio::pin!(deadline);
    let mut ticker = tokio::time::interval(watch_interval(watch.lease));
    ticker.tick().await;
    let attempt = loop {
        tokio::select! {
            joined = &mut call => break match joined {
                Ok(Ok(output)) => Attempt::Succeeded(output),
                Ok(Err(error)) => Attempt::Failed(error),
                Err(join) if join.is_panic() => Attempt::Panicked(panic_message(join.into_panic())),
                Err(_) => Attempt::Interrupted,
            },
            () = &mut deadline => break Attempt::TimedOut(watch.timeout),
            () = watch.hard_stop.cancelled() => break Attempt::Interrupted,
            _ = ticker.tick() => {
                if let Err(error) = watch.delivery.extend_lease(watch.lease).await {
                    tracing::warn!(%task_id, %error, "could not extend the lease");
                }
                if let Ok(Some(task)) = watch.log.get(task_id).await
                    && task.status == TaskState::Cancelled
                {
                    break Attempt::CancelRequested;
                }
            }
        }
    };
    if !call.is_finished() {
        token.cancel();
        if tokio::time::timeout(watch.kill_grace, &mut call)
            .await
            .is_err()
        {
            tracing::warn!(%task_id, grace = ?watch.kill_grace, "the handler did not stop within the kill grace period; dropping it");
            call.abort();
            // Resolves once the handler's future is dropped (its drop guards have run).
            let _ = call.await;
        }
    }
    attempt
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}
