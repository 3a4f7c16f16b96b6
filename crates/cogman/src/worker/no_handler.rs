//! A delivery whose name this worker has no handler for: it is never failed for that alone.
//! The worker makes sure the task has a log record (a foreign producer may have sent it
//! without one), then hands it back to the broker ([`Delivery::defer`]) to be delivered again
//! after a growing pause ([`HandlerWait::pause`]), so another worker can take it — no busy
//! loop, and the tasks behind it are not held up. The first deferral adds a
//! [`NoteKind::WaitingForHandler`] note to the task's history. Once it has waited `handler_wait` since its
//! first deferral, it fails (no retry) with an error naming the task name and the queue.

use std::time::Duration;

use chrono::Utc;
use cogman_core::{Delivery, HandlerWait, NoteKind, StateChange, Task, TaskState};

use super::{WorkerInner, Write};

/// The queue a task was sent to.
pub(crate) fn queue_of(task: &Task) -> &str {
    &task.queue
}

/// The failure message of a task that no worker took within `waited`.
pub(crate) fn no_handler_error(task: &Task, waited: Duration) -> String {
    format!(
        "no worker has a handler for {:?} on queue {:?} (waited {})",
        task.name,
        queue_of(task),
        humantime_serde::re::humantime::format_duration(waited)
    )
}

/// Defers `delivery` for another worker, or fails it once it has waited `handler_wait`.
pub(crate) async fn wait_or_fail(inner: &WorkerInner, delivery: Delivery) {
    let task = delivery.task().clone();
    let now = Utc::now();
    let previous = delivery.handler_wait();
    let since = previous.map_or(now, |wait| wait.since);
    let limit = inner.options.handler_wait;
    let waited = (now - since).to_std().unwrap_or_default();
    if waited >= limit {
        fail(inner, &task, delivery, limit).await;
        return;
    }
    if previous.is_none() {
        // The first time: the task must have a record to wait in (a foreign producer's has none).
        let queued = StateChange::new(task.id, TaskState::Queued).worker(inner.id.clone());
        if inner
            .record_or_create(&task, &queued, Write::Transient)
            .await
            .is_none()
        {
            let _ = delivery.requeue().await;
            return;
        }
        // Once per wait: later hand-backs (by any worker) add nothing, so the history says
        // the task waits without growing with every deferral.
        inner.note(task.id, NoteKind::WaitingForHandler).await;
    }
    let waits = previous.map_or(0, |wait| wait.waits).saturating_add(1);
    let deadline = since + chrono::Duration::from_std(limit).unwrap_or(chrono::Duration::MAX);
    let pause = chrono::Duration::from_std(HandlerWait::pause(waits)).unwrap_or_default();
    let until = (now + pause).min(deadline);
    tracing::info!(task_id = %task.id, name = %task.name, queue = queue_of(&task), waits, "no handler for this task here; handing it back for another worker");
    inner.stats.record_deferred();
    if let Err(error) = delivery.defer(until, HandlerWait { waits, since }).await {
        tracing::warn!(task_id = %task.id, %error, "could not hand the task back; it returns by itself");
    }
}

/// Records `task` failed for want of a handler, then acks it.
async fn fail(inner: &WorkerInner, task: &Task, delivery: Delivery, waited: Duration) {
    let change = StateChange::new(task.id, TaskState::Failed)
        .error(no_handler_error(task, waited))
        .worker(inner.id.clone());
    let Some(outcome) = inner.record_or_create(task, &change, Write::Durable).await else {
        let _ = delivery.requeue().await;
        return;
    };
    super::settle::release_if_ended(inner, task, TaskState::Failed, outcome).await;
    tracing::warn!(task_id = %task.id, name = %task.name, queue = queue_of(task), "no worker took the task within handler_wait; it failed");
    inner.stats.record(TaskState::Failed);
    if let Some(observer) = inner.observer.get() {
        observer.settled(task, TaskState::Failed, Duration::ZERO);
    }
    super::TaskObserver::settled(&*inner.metrics, task, TaskState::Failed, Duration::ZERO);
    super::resolve_workflow_then_ack(inner, task, delivery).await;
}
