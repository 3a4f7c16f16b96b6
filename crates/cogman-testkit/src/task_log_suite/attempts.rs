//! A chain's attempt numbers are unique, atomically: of concurrent creates of the same attempt
//! of one chain (two manual retries racing), exactly one is stored, and the others are refused
//! naming it.

use std::sync::Arc;

use cogman_core::{TaskFilter, TaskLogError, TaskState};

use super::{create_all, must_get};
use crate::sample;
use crate::{LogFactory, LogFixture as _};

/// Creates of attempt 1 racing at once.
const RACERS: usize = 10;

/// 10 creates of attempt 1 of one chain (each a new id) at the same time: exactly one is
/// stored; each other one is refused with `AttemptTaken` naming the stored one; the chain holds
/// two records. Creating the stored one again (same id) is still the idempotent create, and
/// the next attempt number is free.
pub async fn racing_creates_of_one_attempt_store_exactly_one(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let first = sample::task("conformance.attempts");
    create_all(&*log, std::slice::from_ref(&first)).await;
    let now = sample::now_ms();
    let racers: Vec<_> = (0..RACERS).map(|_| first.next_attempt(now, now)).collect();
    let start = Arc::new(tokio::sync::Barrier::new(RACERS));
    let mut creates = tokio::task::JoinSet::new();
    for racer in racers.clone() {
        let (log, start) = (Arc::clone(&log), Arc::clone(&start));
        creates.spawn(async move {
            start.wait().await;
            (racer.id, log.create(&racer).await)
        });
    }
    let mut created = Vec::new();
    let mut refused = Vec::new();
    while let Some(joined) = creates.join_next().await {
        match joined.expect("a create task panicked") {
            (id, Ok(())) => created.push(id),
            (
                id,
                Err(TaskLogError::AttemptTaken {
                    original,
                    attempt,
                    taken_by,
                }),
            ) => {
                assert_eq!((original, attempt), (first.id, 1), "refusal of {id}");
                refused.push(taken_by);
            }
            (id, Err(error)) => panic!("create {id}: unexpected error {error}"),
        }
    }
    assert_eq!(created.len(), 1, "exactly one racer stored: {created:?}");
    let winner = created[0];
    assert_eq!(refused.len(), RACERS - 1);
    assert!(
        refused.iter().all(|by| *by == winner),
        "each refusal names the stored attempt {winner}: {refused:?}"
    );
    let chain = log
        .list(
            &TaskFilter {
                original_task_id: Some(first.id),
                ..TaskFilter::default()
            },
            cogman_core::PageRequest::first(100),
        )
        .await
        .expect("list the chain");
    let mut ids: Vec<_> = chain.items.iter().map(|t| t.id).collect();
    ids.sort();
    let mut expected = vec![first.id, winner];
    expected.sort();
    assert_eq!(
        ids, expected,
        "the chain holds the first attempt and the winner"
    );

    let stored = racers
        .iter()
        .find(|r| r.id == winner)
        .expect("the winner is a racer")
        .clone();
    log.create(&stored)
        .await
        .expect("creating it again is idempotent");
    assert_eq!(must_get(&*log, &stored).await.attempt, 1);
    let mut third = stored.next_attempt(now, now);
    third.status = TaskState::Initiated;
    log.create(&third).await.expect("attempt 2 is free");
}
