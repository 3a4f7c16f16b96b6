//! Unique tasks through the library on the embedded backend (docs/scheduling.md): 50
//! concurrent sends of one key create one task; a key held "until finished" stays held
//! through every retry and is free once the chain ends; a key held for a time outlives its
//! task; workflows refuse keys.

mod support;

use std::sync::Arc;
use std::time::Duration;

use cogman::{Client, Error, SendStatus, TaskError, TaskSpec, TaskState, handler_fn};
use cogman_testkit::{wait_for_state, wait_until};
use tokio::sync::Semaphore;

use support::{WAIT, config, ended, named, oldest_first, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_sends_of_one_key_create_one_task() {
    let dir = tempfile::tempdir().expect("temp dir");
    let client = Client::connect(&config(&dir)).await.expect("client");
    let sends = (0..50).map(|i| {
        let client = client.clone();
        async move {
            client
                .send_task(TaskSpec::new("unique.race", i.to_string()).unique_key("race"))
                .await
                .expect("send")
        }
    });
    let receipts = futures::future::join_all(sends).await;
    let created: Vec<_> = receipts.iter().filter(|r| !r.is_duplicate()).collect();
    assert_eq!(created.len(), 1, "{receipts:?}");
    let winner = created[0].id;
    assert!(receipts.iter().all(|r| r.id == winner), "{receipts:?}");
    assert!(
        receipts
            .iter()
            .filter(|r| r.is_duplicate())
            .all(|r| r.status == SendStatus::Duplicate)
    );
    let tasks = oldest_first(&client, &named("unique.race")).await;
    assert_eq!(tasks.len(), 1, "{tasks:?}");
    assert_eq!(tasks[0].id, winner);
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_is_held_through_retries_until_the_chain_ends() {
    let (_dir, cogman) = start().await;
    let gate = Arc::new(Semaphore::new(0));
    let second_attempt = Arc::clone(&gate);
    cogman
        .register(
            "unique.flaky",
            handler_fn(move |ctx, _payload: Vec<u8>| {
                let gate = Arc::clone(&second_attempt);
                async move {
                    if ctx.attempt == 0 {
                        return Err(TaskError::retry("first attempt fails"));
                    }
                    let _permit = gate.acquire().await.expect("gate open");
                    Ok::<_, TaskError>("done")
                }
            }),
        )
        .expect("register");
    let spec = || {
        TaskSpec::new("unique.flaky", Vec::new())
            .retry(2)
            .unique_key("flaky")
    };
    let first = cogman.send_task(spec(), None).await.expect("send");
    assert_eq!(first.status, SendStatus::Queued);

    // The second attempt runs (the first failed): the chain still holds the key.
    let log = Arc::clone(cogman.client().log());
    wait_until("the second attempt to run", WAIT, || {
        let log = Arc::clone(&log);
        async move {
            oldest_first_of(&log, first.id)
                .await
                .is_some_and(|t| t.attempt == 1 && t.status == TaskState::InProgress)
        }
    })
    .await
    .expect("the retry runs");
    let during = cogman.send_task(spec(), None).await.expect("send again");
    assert_eq!(during.status, SendStatus::Duplicate);
    assert_eq!(during.id, first.id, "the holder is the first attempt");

    gate.add_permits(1);
    let client = cogman.client().clone();
    let again = Arc::new(std::sync::Mutex::new(None));
    wait_until("the key to be free once the chain ended", WAIT, || {
        let (client, again) = (client.clone(), Arc::clone(&again));
        async move {
            let receipt = client.send_task(spec()).await.expect("send after");
            if receipt.is_duplicate() {
                return false;
            }
            *again.lock().expect("lock") = Some(receipt.id);
            true
        }
    })
    .await
    .expect("released");
    let again = again.lock().expect("lock").expect("a new task");
    assert_ne!(again, first.id);
    let attempts = oldest_first(cogman.client(), &named("unique.flaky")).await;
    assert!(
        attempts
            .iter()
            .any(|t| t.original_task_id == first.id && t.status == TaskState::Success),
        "the first chain succeeded before the key was free: {attempts:?}"
    );
    gate.add_permits(10);
    cogman.stop().await;
}

/// The newest attempt of the chain whose first attempt is `root`.
async fn oldest_first_of(
    log: &Arc<dyn cogman::TaskLog>,
    root: cogman::TaskId,
) -> Option<cogman::Task> {
    let filter = support::attempts_of(root);
    log.list(&filter, cogman::PageRequest::first(1))
        .await
        .ok()?
        .items
        .into_iter()
        .next()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_held_for_a_time_outlives_its_task() {
    let (_dir, cogman) = start().await;
    cogman
        .register(
            "unique.timed",
            handler_fn(|_ctx, _payload: Vec<u8>| async move { Ok::<_, TaskError>("ok") }),
        )
        .expect("register");
    let spec = || {
        TaskSpec::new("unique.timed", Vec::new())
            .unique_key("hourly")
            .unique_for(Duration::from_secs(3600))
    };
    let first = cogman.send_task(spec(), None).await.expect("send");
    let done = ended(cogman.client(), first.id).await;
    assert_eq!(done.status, TaskState::Success);
    let after = cogman.send_task(spec(), None).await.expect("send again");
    assert_eq!((after.id, after.status), (first.id, SendStatus::Duplicate));
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_task_releases_its_key_and_workflows_refuse_keys() {
    let (_dir, cogman) = start().await;
    let gate = Arc::new(Semaphore::new(0));
    let held = Arc::clone(&gate);
    cogman
        .register(
            "unique.slow",
            handler_fn(move |ctx, _payload: Vec<u8>| {
                let gate = Arc::clone(&held);
                async move {
                    tokio::select! {
                        _ = gate.acquire() => Ok::<_, TaskError>("ran"),
                        () = ctx.cancelled() => Err(TaskError::cancel("stopped")),
                    }
                }
            }),
        )
        .expect("register");
    let spec = || TaskSpec::new("unique.slow", Vec::new()).unique_key("slow");
    let first = cogman.send_task(spec(), None).await.expect("send");
    wait_for_state(
        cogman.client().log().as_ref(),
        first.id,
        TaskState::InProgress,
        WAIT,
    )
    .await
    .expect("it runs");
    cogman.client().cancel(first.id).await.expect("cancel");
    let client = cogman.client().clone();
    wait_until("the key to be free once cancelled", WAIT, || {
        let client = client.clone();
        async move { !client.send_task(spec()).await.expect("send").is_duplicate() }
    })
    .await
    .expect("released");
    gate.add_permits(10);

    let refused = cogman
        .client()
        .send_chain(vec![
            TaskSpec::new("unique.slow", Vec::new()),
            TaskSpec::new("unique.slow", Vec::new()).unique_key("step"),
        ])
        .await;
    assert!(
        matches!(&refused, Err(Error::Validation(e)) if e.to_string().contains("unique key")),
        "{refused:?}"
    );
    cogman.stop().await;
}
