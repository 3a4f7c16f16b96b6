//! Waiting for an event with a deadline instead of sleeping: [`wait_until`] polls a condition
//! every few milliseconds; [`wait_for_state`] and [`wait_for_final`] poll a task log.

use std::future::Future;
use std::time::Duration;

use cogman_core::{Task, TaskId, TaskLog, TaskState};
use tokio::time::Instant;

/// The first poll comes this soon; later polls back off to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(2);
/// The longest pause between two polls.
const MAX_POLL: Duration = Duration::from_millis(25);

/// A condition did not hold before its deadline.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("timed out after {timeout:?} waiting for {what}{}", last.as_ref().map(|l| format!(" (last seen: {l})")).unwrap_or_default())]
pub struct WaitTimeout {
    /// What was awaited.
    pub what: String,
    /// How long it was awaited.
    pub timeout: Duration,
    /// What the last poll saw, when the waiter knows.
    pub last: Option<String>,
}

/// Polls `f` until it returns true or `timeout` passes.
///
/// # Errors
/// [`WaitTimeout`] naming `what` when the deadline passes first.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut f: F) -> Result<(), WaitTimeout>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    poll_until(what, timeout, || {
        let fut = f();
        async move { if fut.await { Ok(()) } else { Err(None) } }
    })
    .await
}

/// Polls `f` until it returns `Ok(value)`; `Err(seen)` means "not yet" and `seen` describes
/// the last observation for the timeout message.
async fn poll_until<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> Result<T, WaitTimeout>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Option<String>>>,
{
    let deadline = Instant::now() + timeout;
    let mut pause = FIRST_POLL;
    loop {
        let last = match f().await {
            Ok(value) => return Ok(value),
            Err(last) => last,
        };
        let now = Instant::now();
        if now >= deadline {
            return Err(WaitTimeout {
                what: what.to_owned(),
                timeout,
                last,
            });
        }
        tokio::time::sleep(pause.min(deadline - now)).await;
        pause = (pause * 2).min(MAX_POLL);
    }
}

/// Waits until the task's recorded state is `state`, and returns the task.
///
/// # Errors
/// [`WaitTimeout`] with the last state seen (or the last read error).
pub async fn wait_for_state(
    log: &dyn TaskLog,
    id: TaskId,
    state: TaskState,
    timeout: Duration,
) -> Result<Task, WaitTimeout> {
    let what = format!("task {id} to reach state {state}");
    wait_for_task(log, id, &what, timeout, |task| task.status == state).await
}

/// Waits until the task is in a final state (`success`, `failed`, `retry`, `cancelled`), and
/// returns it.
///
/// # Errors
/// [`WaitTimeout`] with the last state seen (or the last read error).
pub async fn wait_for_final(
    log: &dyn TaskLog,
    id: TaskId,
    timeout: Duration,
) -> Result<Task, WaitTimeout> {
    let what = format!("task {id} to reach a final state");
    wait_for_task(log, id, &what, timeout, |task| task.status.is_final()).await
}

async fn wait_for_task(
    log: &dyn TaskLog,
    id: TaskId,
    what: &str,
    timeout: Duration,
    done: impl Fn(&Task) -> bool,
) -> Result<Task, WaitTimeout> {
    poll_until(what, timeout, || {
        let read = log.get(id);
        let done = &done;
        async move {
            match read.await {
                Ok(Some(task)) if done(&task) => Ok(task),
                Ok(Some(task)) => Err(Some(format!("state {}", task.status))),
                Ok(None) => Err(Some("no record".to_owned())),
                Err(err) => Err(Some(format!("read error: {err}"))),
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_condition_that_never_holds_times_out_with_its_name() {
        let err = wait_until("the impossible", Duration::from_millis(20), || async {
            false
        })
        .await
        .expect_err("never true");
        assert_eq!(err.what, "the impossible");
        assert!(err.to_string().contains("the impossible"));
    }

    #[tokio::test]
    async fn a_condition_that_becomes_true_returns() {
        let mut polls = 0;
        wait_until("three polls", Duration::from_secs(5), || {
            polls += 1;
            let ready = polls >= 3;
            async move { ready }
        })
        .await
        .expect("true on the third poll");
        assert_eq!(polls, 3);
    }
}
