//! Behaviours of the optional [`Outbox`] ability: only `initiated` tasks recorded at least
//! `min_age` ago are claimed, concurrent claimers get disjoint sets, claims are leased, and
//! tasks recorded `queued` are never returned.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::TimeDelta;
use cogman_core::{Outbox, StateChange, Task, TaskId, TaskLog, TaskState};

use super::create_all;
use crate::fixture::offered;
use crate::sample;
use crate::wait::wait_until;
use crate::{LogFactory, LogFixture as _};

const LONG_LEASE: Duration = Duration::from_secs(60);
const SHORT_LEASE: Duration = Duration::from_millis(300);
const DEADLINE: Duration = Duration::from_secs(10);
/// The age a task must reach before it is claimed, in the test of ages: long enough that a
/// task created just before a claim is surely younger, even on a loaded machine.
const MIN_AGE: Duration = Duration::from_secs(2);

/// The log's outbox, or `None` (printed) when the backend has none.
fn outbox_of<'a>(log: &'a dyn TaskLog, behaviour: &str) -> Option<&'a dyn Outbox> {
    offered(log.outbox(), behaviour, "outbox")
}

fn id_set(tasks: &[Task]) -> HashSet<TaskId> {
    tasks.iter().map(|t| t.id).collect()
}

/// `initiated` tasks whose `created_at` says `age` ago (the embedded log, on one machine,
/// measures ages from it; shared logs by their own clock from when they recorded the task).
fn initiated(n: usize, age: TimeDelta) -> Vec<Task> {
    (0..n)
        .map(|_| sample::task_created_at("conformance.outbox", sample::now_ms() - age))
        .collect()
}

/// Claims return only `initiated` tasks recorded at least `min_age` ago.
pub async fn outbox_claims_only_old_initiated_tasks(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let Some(outbox) = outbox_of(&*log, "outbox_claims_only_old_initiated_tasks") else {
        return;
    };
    let old = initiated(3, TimeDelta::zero());
    let mut old_queued = initiated(1, TimeDelta::zero());
    old_queued[0].status = TaskState::Queued;
    let mut old_done = initiated(1, TimeDelta::zero());
    old_done[0].status = TaskState::Success;
    for set in [&old, &old_queued, &old_done] {
        create_all(&*log, set).await;
    }
    let claimed = Mutex::new(Vec::new());
    let wanted = old.len();
    wait_until("the initiated tasks to be old enough", DEADLINE, || {
        let claim = outbox.claim_unpublished(MIN_AGE, 100, LONG_LEASE);
        let claimed = &claimed;
        async move {
            let batch = claim.await.expect("claim");
            let mut claimed = claimed.lock().expect("invariant: not poisoned");
            claimed.extend(batch);
            claimed.len() >= wanted
        }
    })
    .await
    .unwrap_or_else(|err| panic!("{err}"));
    let claimed = claimed.into_inner().expect("invariant: not poisoned");
    assert_eq!(id_set(&claimed), id_set(&old), "only old initiated tasks");

    let fresh = initiated(1, TimeDelta::zero());
    create_all(&*log, &fresh).await;
    let young = outbox
        .claim_unpublished(MIN_AGE, 100, LONG_LEASE)
        .await
        .expect("claim");
    assert!(young.is_empty(), "a task younger than min_age: {young:?}");

    let original = old
        .iter()
        .find(|t| t.id == claimed[0].id)
        .expect("claimed one of them");
    assert_eq!(
        claimed[0].payload, original.payload,
        "claims return whole tasks"
    );
}

/// Two claimers racing, a few tasks at a time, get disjoint sets whose union is everything.
pub async fn outbox_concurrent_claimers_are_disjoint(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    if outbox_of(&*log, "outbox_concurrent_claimers_are_disjoint").is_none() {
        return;
    }
    let tasks = initiated(40, TimeDelta::minutes(5));
    create_all(&*log, &tasks).await;

    let claimer = |log: Arc<dyn TaskLog>| async move {
        let outbox = log.outbox().expect("invariant: checked above");
        let mut mine = Vec::new();
        loop {
            let batch = outbox
                .claim_unpublished(Duration::ZERO, 7, LONG_LEASE)
                .await
                .expect("claim");
            if batch.is_empty() {
                return mine;
            }
            mine.extend(batch.into_iter().map(|t| t.id));
        }
    };
    let (a, b) = tokio::join!(
        tokio::spawn(claimer(Arc::clone(&log))),
        tokio::spawn(claimer(Arc::clone(&log)))
    );
    let (a, b) = (a.expect("claimer a"), b.expect("claimer b"));
    let (set_a, set_b): (HashSet<_>, HashSet<_>) =
        (a.iter().copied().collect(), b.iter().copied().collect());
    assert_eq!(set_a.len(), a.len(), "claimer a got a task twice");
    assert_eq!(set_b.len(), b.len(), "claimer b got a task twice");
    assert!(set_a.is_disjoint(&set_b), "a task was claimed by both");
    let union: HashSet<_> = set_a.union(&set_b).copied().collect();
    assert_eq!(union, id_set(&tasks), "every task was claimed");
}

/// A claimed task is not returned again within its lease, and is returned again after it;
/// a claimed task recorded `queued` meanwhile is not.
pub async fn outbox_claim_is_leased(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let Some(outbox) = outbox_of(&*log, "outbox_claim_is_leased") else {
        return;
    };
    let tasks = initiated(2, TimeDelta::minutes(5));
    create_all(&*log, &tasks).await;

    let first = outbox
        .claim_unpublished(Duration::ZERO, 10, SHORT_LEASE)
        .await
        .expect("claim");
    assert_eq!(id_set(&first), id_set(&tasks));
    let again = outbox
        .claim_unpublished(Duration::ZERO, 10, SHORT_LEASE)
        .await
        .expect("claim");
    assert!(
        again.is_empty(),
        "claimed tasks are hidden during the lease: {again:?}"
    );

    let published = tasks[0].id;
    log.record(&StateChange::new(published, TaskState::Queued))
        .await
        .expect("record queued");

    let reclaimed = Mutex::new(Vec::new());
    wait_until(
        "the lease to run out and the task to be claimable again",
        DEADLINE,
        || {
            let claim = outbox.claim_unpublished(Duration::ZERO, 10, LONG_LEASE);
            let reclaimed = &reclaimed;
            async move {
                let batch = claim.await.expect("claim");
                let mut reclaimed = reclaimed.lock().expect("invariant: not poisoned");
                reclaimed.extend(batch);
                !reclaimed.is_empty()
            }
        },
    )
    .await
    .unwrap_or_else(|err| panic!("{err}"));
    let reclaimed = reclaimed.into_inner().expect("invariant: not poisoned");
    assert_eq!(
        id_set(&reclaimed),
        HashSet::from([tasks[1].id]),
        "only the unpublished task comes back"
    );
}

/// A task recorded `queued` (published) is never claimed.
pub async fn outbox_never_returns_queued_tasks(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let Some(outbox) = outbox_of(&*log, "outbox_never_returns_queued_tasks") else {
        return;
    };
    let tasks = initiated(3, TimeDelta::minutes(5));
    create_all(&*log, &tasks).await;
    for task in &tasks {
        log.record(&StateChange::new(task.id, TaskState::Queued))
            .await
            .expect("record queued");
    }
    let claimed = outbox
        .claim_unpublished(Duration::ZERO, 10, SHORT_LEASE)
        .await
        .expect("claim");
    assert!(claimed.is_empty(), "queued tasks were claimed: {claimed:?}");
}
