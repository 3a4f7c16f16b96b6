//! A task and its attempts as one, the same scenarios for every mode (`embedded` and
//! `distributed` call them with a started cogman): the details of any attempt id show the
//! chain's outcome, a cancel of any attempt id stops the chain, and a manual retry is refused
//! while an attempt waits or runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cogman::{Cogman, Error, TaskError, TaskSpec, TaskState, handler_fn};
use cogman_testkit::wait_for_state;
use tokio::sync::{Notify, Semaphore};

use super::{WAIT, attempts_of, ended, oldest_first, wait_last_final};

/// A task that fails every attempt: the details of its first id (whose own record stays
/// `retry`) say the chain failed, and so do every other attempt's.
pub async fn any_attempt_id_shows_the_chain_outcome(cogman: &Cogman) {
    cogman
        .register(
            "chain.fails",
            handler_fn(|_ctx, _p| async { Err::<(), _>(TaskError::retry("still broken")) }),
        )
        .expect("register");
    let root = cogman
        .send_task(TaskSpec::new("chain.fails", Vec::new()).retry(2), None)
        .await
        .expect("send")
        .id;
    let last = wait_last_final(cogman.client(), &attempts_of(root)).await;
    assert_eq!((last.attempt, last.status), (2, TaskState::Failed));
    let inspector = cogman.client().inspector();
    for attempt in oldest_first(cogman.client(), &attempts_of(root)).await {
        let details = inspector.task(attempt.id).await.expect("details");
        assert_eq!(details.task.id, attempt.id, "the asked record is kept");
        assert_eq!(details.task.status, attempt.status, "with its own state");
        assert_eq!(details.chain_status, TaskState::Failed, "{details:?}");
        assert_eq!(details.latest_attempt, last.id);
        assert_eq!(details.outcome().map(|t| t.id), Some(last.id));
    }
    let first = inspector.task(root).await.expect("details");
    assert_eq!(first.task.status, TaskState::Retry);
}

/// A task whose retry waits (an hour away): cancelling its first id cancels the waiting
/// retry, and the chain is cancelled.
pub async fn cancelling_the_first_id_cancels_the_waiting_retry(cogman: &Cogman) {
    cogman
        .register(
            "chain.later",
            handler_fn(|_ctx, _p| async {
                Err::<(), _>(TaskError::retry_after(
                    "try in an hour",
                    Duration::from_secs(3600),
                ))
            }),
        )
        .expect("register");
    let client = cogman.client();
    let root = cogman
        .send_task(TaskSpec::new("chain.later", Vec::new()).retry(3), None)
        .await
        .expect("send")
        .id;
    wait_for_state(client.log().as_ref(), root, TaskState::Retry, WAIT)
        .await
        .expect("the first attempt fails");
    let waiting = oldest_first(client, &attempts_of(root)).await;
    let retry = waiting.last().expect("a retry was sent").clone();
    assert_eq!(retry.attempt, 1);
    assert!(!retry.status.is_final(), "the retry waits: {retry:?}");
    client.cancel(root).await.expect("cancel by the first id");
    let retry = client.get(retry.id).await.expect("get").expect("recorded");
    assert_eq!(retry.status, TaskState::Cancelled);
    let details = client.inspector().task(root).await.expect("details");
    assert_eq!(details.chain_status, TaskState::Cancelled);
    client
        .cancel(root)
        .await
        .expect("cancelling again is a no-op");
}

/// A running attempt that fails just after its task was cancelled: no further attempt is sent.
pub async fn a_task_cancelled_while_running_is_not_retried(cogman: &Cogman) {
    let calls = Arc::new(AtomicU32::new(0));
    let started = Arc::new(Notify::new());
    let release = Arc::new(Semaphore::new(0));
    let (count, start, gate) = (
        Arc::clone(&calls),
        Arc::clone(&started),
        Arc::clone(&release),
    );
    cogman
        .register(
            "chain.cancelled",
            handler_fn(move |_ctx, _p| {
                count.fetch_add(1, Ordering::SeqCst);
                let (start, gate) = (Arc::clone(&start), Arc::clone(&gate));
                async move {
                    start.notify_one();
                    let _permit = gate.acquire().await;
                    // Fails (to be retried) whatever the cancel request says.
                    Err::<(), _>(TaskError::retry("failed after the cancel"))
                }
            }),
        )
        .expect("register");
    cogman
        .register(
            "chain.marker",
            handler_fn(|_ctx, _p| async { Ok::<_, TaskError>(()) }),
        )
        .expect("register");
    let client = cogman.client();
    let root = cogman
        .send_task(TaskSpec::new("chain.cancelled", Vec::new()).retry(3), None)
        .await
        .expect("send")
        .id;
    tokio::time::timeout(WAIT, started.notified())
        .await
        .expect("the first attempt starts");
    client.cancel(root).await.expect("cancel a running task");
    release.add_permits(10);
    // A marker due after any retry would have been sent and run (backoff <= 100 ms).
    let marker = cogman
        .send_task(
            TaskSpec::new("chain.marker", Vec::new()).delay(Duration::from_millis(1500)),
            None,
        )
        .await
        .expect("send")
        .id;
    assert_eq!(ended(client, marker).await.status, TaskState::Success);
    let chain = oldest_first(client, &attempts_of(root)).await;
    assert_eq!(chain.len(), 1, "no further attempt: {chain:?}");
    assert_eq!(chain[0].status, TaskState::Cancelled);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

/// A manual retry while an attempt waits or runs is refused naming it; once that one ended, a
/// retry by any attempt id follows the newest attempt, so attempt numbers never repeat.
pub async fn a_manual_retry_waits_for_the_running_attempt(cogman: &Cogman) {
    let release = Arc::new(Semaphore::new(0));
    let gate = Arc::clone(&release);
    cogman
        .register(
            "chain.manual",
            handler_fn(move |ctx, _p| {
                let gate = Arc::clone(&gate);
                async move {
                    if ctx.attempt == 0 {
                        return Err(TaskError::fail("first run fails"));
                    }
                    let _permit = gate.acquire().await;
                    Ok::<_, TaskError>(())
                }
            }),
        )
        .expect("register");
    let client = cogman.client();
    let root = cogman
        .send_task(TaskSpec::new("chain.manual", Vec::new()), None)
        .await
        .expect("send")
        .id;
    assert_eq!(ended(client, root).await.status, TaskState::Failed);
    let second = client.retry(root, 0).await.expect("retry a failed task").id;
    for id in [root, second] {
        match client.retry(id, 0).await {
            Err(Error::AttemptPending {
                attempt, number, ..
            }) => assert_eq!((attempt, number), (second, 1)),
            other => panic!("a second retry while attempt 1 waits or runs: {other:?}"),
        }
    }
    release.add_permits(10);
    assert_eq!(ended(client, second).await.status, TaskState::Success);
    let third = client.retry(root, 0).await.expect("retry once it ended").id;
    assert_eq!(ended(client, third).await.attempt, 2);
    let numbers: Vec<u32> = oldest_first(client, &attempts_of(root))
        .await
        .iter()
        .map(|t| t.attempt)
        .collect();
    assert_eq!(numbers, vec![0, 1, 2], "attempt numbers never repeat");
}
