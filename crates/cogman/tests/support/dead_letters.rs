//! Dead letters as one flow on every backend: a poison task (handed out `max_deliveries` times
//! without an outcome, as when it keeps killing its worker) is dead-lettered, ends `failed`
//! with the reason, is listed, is requeued as a new attempt that runs, and is gone from the
//! list; purging removes what is left.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cogman::{Client, ConsumeOptions, Error, StateChange, TaskSpec, TaskState, Worker, handler_fn};
use cogman_testkit::{next_within, wait_until};

use super::WAIT;

/// The name of the poison task.
pub const POISON: &str = "dl.poison";

/// Takes `task`'s delivery `times` times, as a worker that records `in_progress` and then dies
/// without an outcome: the delivery is never settled and its consumer goes away.
pub async fn crash_on(client: &Client, task: cogman::TaskId, times: u32) {
    for _ in 0..times {
        let mut consumer = client
            .broker()
            .consume(ConsumeOptions {
                prefetch: 1,
                consumer_tag: "dl.crasher".into(),
                lease: Duration::from_millis(300),
                ..ConsumeOptions::default()
            })
            .await
            .expect("consume");
        let delivery = next_within(&mut *consumer, WAIT)
            .await
            .expect("the poison task is delivered");
        assert_eq!(delivery.task().id, task);
        client
            .log()
            .record(&StateChange::new(task, TaskState::InProgress))
            .await
            .expect("record in_progress");
        drop(delivery);
        drop(consumer);
    }
}

/// With `client` on a config whose `max_deliveries` is 2 and no worker running yet: the
/// poison flow, with `start_worker` starting a worker that runs `POISON` successfully.
pub async fn a_poison_task_is_failed_listed_requeued_and_purged<F, Fut>(
    client: &Client,
    start_worker: F,
) -> Worker
where
    F: FnOnce(Arc<AtomicU32>) -> Fut,
    Fut: std::future::Future<Output = Worker>,
{
    let receipt = client
        .send_task(TaskSpec::new(POISON, b"poison payload".to_vec()))
        .await
        .expect("send");
    crash_on(client, receipt.id, 2).await;

    let runs = Arc::new(AtomicU32::new(0));
    let worker = start_worker(Arc::clone(&runs)).await;
    let inspector = client.inspector();
    let failed =
        cogman_testkit::wait_for_state(client.log().as_ref(), receipt.id, TaskState::Failed, WAIT)
            .await
            .unwrap_or_else(|e| panic!("the poison task ends failed: {e}"));
    let reason = failed.fail_error.clone().expect("a reason");
    assert!(
        reason.contains("poison") || reason.contains("deliveries"),
        "reason: {reason}"
    );
    assert_eq!(runs.load(Ordering::SeqCst), 0, "the poison task never ran");

    let page = inspector.dead_letters(None, 50).await.expect("list");
    let dead = page
        .items
        .iter()
        .find(|d| d.entry.task_id == Some(receipt.id))
        .unwrap_or_else(|| panic!("the poison task is listed: {page:?}"))
        .clone();
    assert_eq!(
        dead.entry.reason, reason,
        "listed with the reason it failed with"
    );
    assert_eq!(dead.entry.name.as_deref(), Some(POISON));
    assert_eq!(dead.entry.body, b"poison payload");

    let again = client.requeue_dead_letter(dead.id).await.expect("requeue");
    assert_ne!(again.id, receipt.id, "a new attempt");
    let done =
        cogman_testkit::wait_for_state(client.log().as_ref(), again.id, TaskState::Success, WAIT)
            .await
            .unwrap_or_else(|e| panic!("the requeued attempt succeeds: {e}"));
    assert_eq!(done.original_task_id, failed.original_task_id, "same chain");
    assert_eq!(done.attempt, failed.attempt + 1);
    assert_eq!(done.payload, b"poison payload");
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    let listed = inspector.dead_letters(None, 50).await.expect("list");
    assert!(
        listed.items.iter().all(|d| d.id != dead.id),
        "a requeued dead letter leaves the list"
    );
    assert!(matches!(
        client.requeue_dead_letter(dead.id).await,
        Err(Error::DeadLetterNotFound(_))
    ));
    worker
}

/// Waits until a dead letter whose reason contains `needle` is listed, and returns it.
pub async fn listed_with(client: &Client, needle: &str) -> cogman::DeadLetter {
    let inspector = client.inspector();
    let found = Arc::new(std::sync::Mutex::new(None));
    wait_until("the dead letter to be listed", WAIT, || {
        let (inspector, found) = (inspector.clone(), Arc::clone(&found));
        async move {
            let page = inspector.dead_letters(None, 50).await.expect("list");
            let hit = page
                .items
                .into_iter()
                .find(|d| d.entry.reason.contains(needle));
            let listed = hit.is_some();
            *found.lock().expect("lock") = hit;
            listed
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let hit = found.lock().expect("lock").take();
    hit.expect("found")
}

/// A handler for [`POISON`] that counts its runs.
pub fn counting(runs: Arc<AtomicU32>) -> impl cogman::Handler {
    handler_fn(move |_ctx, _payload: Vec<u8>| {
        let runs = Arc::clone(&runs);
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok::<_, cogman::TaskError>(Vec::<u8>::new())
        }
    })
}
