//! Runs one handler call and turns everything that can happen to it — success, an error, a
//! panic, a timeout, a cancel request, a hard stop — into an [`Attempt`]. While the handler
//! runs, the delivery's lease is extended and the task log is watched for a cancel request.
//! A handler told to stop (its [`TaskContext::cancellation`] fires) gets the kill grace period
//! to return — a shell handler stops its process group in it — and is dropped after it.

use std::sync::Arc;
use std::time::Duration;

use cogman_core::{Delivery, Handler, Output, TaskContext, TaskError, TaskLog, TaskState};
use tokio_util::sync::CancellationToken;

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
    let mut call = tokio::spawn(async move { handler.call(ctx, payload).await });
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
