//! Behaviours of the optional [`ScheduleStore`](cogman_core::ScheduleStore) ability: schedules
//! are stored, listed, paused and removed; the lease is held by one holder at a time until it
//! runs out or is released; each slot is claimed exactly once, however many claim it at once.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use cogman_core::{MissedSlots, Schedule, ScheduleStore, ScheduledTask, TaskId, TaskLog, Timing};

use crate::fixture::offered;
use crate::wait::wait_until;
use crate::{LogFactory, LogFixture as _};

fn sample(id: &str) -> Schedule {
    let mut s = Schedule::new(
        id,
        Timing::parse("every 1s").expect("timing"),
        ScheduledTask::new("report.build", b"{\"a\":1}".to_vec()),
    );
    s.timezone = "Europe/Paris".into();
    s.missed = MissedSlots::CatchUp(3);
    s
}

fn store(log: &Arc<dyn TaskLog>) -> &dyn ScheduleStore {
    log.schedule_store().expect("checked by offered")
}

/// A put schedule reads back whole (by id and in the list, ordered by id); a second put
/// replaces the definition; pausing and resuming change the flag (resuming moves `since`);
/// removing deletes it; calls on an unknown id say so.
pub async fn schedule_store_put_list_pause_remove(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    if offered(
        log.schedule_store(),
        "schedule_store_put_list_pause_remove",
        "schedule store",
    )
    .is_none()
    {
        return;
    }
    let store = store(&log);
    let (b, a) = (sample("b.report"), sample("a-report:1"));
    store.put_schedule(&b).await.expect("put b");
    store.put_schedule(&a).await.expect("put a");
    let got = store.schedule("b.report").await.expect("get").expect("b");
    assert_eq!(got.schedule, b);
    assert!(got.last_run.is_none());
    let ids: Vec<String> = store
        .schedules()
        .await
        .expect("list")
        .into_iter()
        .map(|r| r.schedule.id)
        .collect();
    assert_eq!(ids, ["a-report:1", "b.report"]);

    let mut changed = b.clone();
    changed.timing = Timing::parse("0 */5 * * * *").expect("cron");
    store.put_schedule(&changed).await.expect("replace");
    let got = store.schedule("b.report").await.expect("get").expect("b");
    assert_eq!(got.schedule, changed);

    assert!(store.set_paused("b.report", true).await.expect("pause"));
    let paused = store.schedule("b.report").await.expect("get").expect("b");
    assert!(paused.schedule.paused);
    assert!(store.set_paused("b.report", false).await.expect("resume"));
    let resumed = store.schedule("b.report").await.expect("get").expect("b");
    assert!(!resumed.schedule.paused);
    assert!(resumed.since >= paused.since);
    assert!(!store.set_paused("nope", true).await.expect("pause unknown"));

    assert!(store.remove_schedule("b.report").await.expect("remove"));
    assert!(
        !store
            .remove_schedule("b.report")
            .await
            .expect("remove again")
    );
    assert!(store.schedule("b.report").await.expect("get").is_none());
    assert_eq!(store.schedules().await.expect("list").len(), 1);
}

/// The lease is one holder's until it runs out or is released: another holder is refused
/// meanwhile, the holder renews it, and another takes it once it expired.
pub async fn schedule_lease_has_one_holder_until_it_expires(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    if offered(
        log.schedule_store(),
        "schedule_lease_has_one_holder_until_it_expires",
        "schedule store",
    )
    .is_none()
    {
        return;
    }
    let store = store(&log);
    let long = Duration::from_secs(30);
    assert!(
        store
            .try_lease("scheduler", "a", long)
            .await
            .expect("a takes")
    );
    assert!(
        !store
            .try_lease("scheduler", "b", long)
            .await
            .expect("b refused")
    );
    assert!(
        store
            .try_lease("scheduler", "a", long)
            .await
            .expect("a renews")
    );
    let (holder, until) = store
        .lease_holder("scheduler")
        .await
        .expect("holder")
        .expect("held");
    assert_eq!(holder, "a");
    assert!(until > Utc::now() + TimeDelta::seconds(20));
    // Another lease name is independent.
    assert!(store.try_lease("other", "b", long).await.expect("other"));

    store
        .release_lease("scheduler", "b")
        .await
        .expect("b's release is a no-op");
    assert!(
        !store
            .try_lease("scheduler", "b", long)
            .await
            .expect("still a's")
    );
    store
        .release_lease("scheduler", "a")
        .await
        .expect("release");
    assert!(
        store
            .try_lease("scheduler", "b", Duration::from_millis(300))
            .await
            .expect("b")
    );
    assert!(
        !store
            .try_lease("scheduler", "a", long)
            .await
            .expect("b's now")
    );
    // b stops renewing: a gets it once the 300 ms run out, not before.
    wait_until("the lease expires", Duration::from_secs(10), || async {
        store
            .try_lease("scheduler", "a", long)
            .await
            .expect("try lease")
    })
    .await
    .expect("a takes the expired lease");
    assert_eq!(
        store
            .lease_holder("scheduler")
            .await
            .expect("holder")
            .map(|h| h.0),
        Some("a".to_owned())
    );
}

/// Many claims of one slot at once: exactly one wins; the slot becomes the schedule's last run,
/// whose task is the one recorded; another slot is claimed on its own.
pub async fn schedule_slot_is_claimed_once(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    if offered(
        log.schedule_store(),
        "schedule_slot_is_claimed_once",
        "schedule store",
    )
    .is_none()
    {
        return;
    }
    store(&log).put_schedule(&sample("s")).await.expect("put");
    let slot: DateTime<Utc> = "2026-01-01T00:00:05Z".parse().expect("slot");
    let claims = (0..16).map(|_| {
        let log = Arc::clone(&log);
        tokio::spawn(async move { store(&log).claim_slot("s", slot).await })
    });
    let mut won = 0;
    for claim in claims {
        if claim.await.expect("join").expect("claim") {
            won += 1;
        }
    }
    assert_eq!(won, 1, "one claim of a slot wins");
    let store = store(&log);
    let run = store
        .schedule("s")
        .await
        .expect("get")
        .expect("s")
        .last_run
        .expect("last run");
    assert_eq!((run.slot, run.task_id), (slot, None));
    let task = TaskId::new();
    store
        .record_slot_task("s", slot, task)
        .await
        .expect("record");
    let run = store.schedule("s").await.expect("get").expect("s").last_run;
    assert_eq!(run.and_then(|r| r.task_id), Some(task));
    assert!(!store.claim_slot("s", slot).await.expect("again"));
    let next = slot + TimeDelta::seconds(1);
    assert!(store.claim_slot("s", next).await.expect("next slot"));
    // An older slot claimed late does not become the last run.
    assert!(
        store
            .claim_slot("s", slot - TimeDelta::seconds(1))
            .await
            .expect("older")
    );
    let run = store.schedule("s").await.expect("get").expect("s").last_run;
    assert_eq!(run.map(|r| r.slot), Some(next));
}
