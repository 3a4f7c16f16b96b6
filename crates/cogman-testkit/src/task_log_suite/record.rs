//! Behaviours of `create`, `get` and `record`: round trips of every field, forward changes,
//! replays, late (stale) writes, the transition rule for every pair of states, unknown ids,
//! and re-creation never moving a task backwards.

use cogman_core::{RecordOutcome, StateChange, TaskId, TaskState, Transition};

use super::{create_all, must_get};
use crate::sample::{self, plus_ms};
use crate::{LogFactory, LogFixture as _};

/// `create` then `get` returns every field unchanged: awkward payload bytes, primary key,
/// run time, timeout, workflow link present or absent, priority, retry budget.
pub async fn create_then_get_round_trips(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let plain = sample::task("conformance.plain");
    let mut rich = sample::rich_task("conformance.rich");
    rich.status = TaskState::Scheduled;
    create_all(&*log, &[plain.clone(), rich.clone()]).await;

    assert_eq!(
        must_get(&*log, &plain).await,
        plain,
        "plain task round trip"
    );
    assert_eq!(
        must_get(&*log, &rich).await,
        rich,
        "task with every field round trip"
    );
    let unknown = log.get(TaskId::new()).await.expect("get an unknown id");
    assert_eq!(unknown, None, "an unknown id has no record");
}

/// Forward changes are `Applied` and update state, time, error, result and duration.
pub async fn record_applies_forward_changes(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let task = sample::task("conformance.forward");
    create_all(&*log, std::slice::from_ref(&task)).await;

    let t0 = task.created_at;
    let queued = StateChange {
        at: plus_ms(t0, 10),
        ..StateChange::new(task.id, TaskState::Queued)
    };
    assert_eq!(
        log.record(&queued).await.expect("record queued"),
        RecordOutcome::Applied
    );
    let stored = must_get(&*log, &task).await;
    assert_eq!(
        (stored.status, stored.updated_at),
        (TaskState::Queued, queued.at)
    );

    let running = StateChange {
        at: plus_ms(t0, 20),
        ..StateChange::new(task.id, TaskState::InProgress).worker("worker-1")
    };
    assert_eq!(
        log.record(&running).await.expect("record running"),
        RecordOutcome::Applied
    );

    let done = StateChange {
        at: plus_ms(t0, 30),
        duration: Some(0.25),
        ..StateChange::new(task.id, TaskState::Success).result(Some(vec![0, 1, 0xFF]))
    };
    assert_eq!(
        log.record(&done).await.expect("record success"),
        RecordOutcome::Applied
    );
    let stored = must_get(&*log, &task).await;
    assert_eq!(stored.status, TaskState::Success);
    assert_eq!(stored.updated_at, done.at);
    assert_eq!(stored.result, Some(vec![0, 1, 0xFF]));
    assert_eq!(stored.duration, Some(0.25));
    assert_eq!(stored.fail_error, None);
    assert_eq!(
        (stored.payload, stored.name, stored.created_at),
        (task.payload, task.name, task.created_at),
        "a change leaves the task's own fields alone"
    );

    let other = sample::task("conformance.forward.failed");
    create_all(&*log, std::slice::from_ref(&other)).await;
    let failed = StateChange::new(other.id, TaskState::Failed).error("boom: 0xFF");
    assert_eq!(
        log.record(&failed).await.expect("record failed"),
        RecordOutcome::Applied
    );
    let stored = must_get(&*log, &other).await;
    assert_eq!(
        (stored.status, stored.fail_error.as_deref()),
        (TaskState::Failed, Some("boom: 0xFF")),
        "a jump straight to a final state is forward"
    );
}

/// Recording the same state twice: the second is `Unchanged` and changes nothing.
pub async fn record_replay_is_unchanged(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let task = sample::task("conformance.replay");
    create_all(&*log, std::slice::from_ref(&task)).await;
    let queued = StateChange {
        at: plus_ms(task.created_at, 5),
        ..StateChange::new(task.id, TaskState::Queued)
    };
    assert_eq!(
        log.record(&queued).await.expect("first write"),
        RecordOutcome::Applied
    );
    let replay = StateChange {
        at: plus_ms(task.created_at, 50),
        ..queued.clone()
    };
    assert_eq!(
        log.record(&replay).await.expect("replay"),
        RecordOutcome::Unchanged
    );
    let stored = must_get(&*log, &task).await;
    assert_eq!(
        (stored.status, stored.updated_at),
        (TaskState::Queued, queued.at)
    );
}

/// A late write (a state behind the current one) is `Stale { current }` and stores nothing:
/// not its state, error, result or time.
pub async fn record_stale_change_changes_nothing(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let task = sample::task("conformance.stale");
    create_all(&*log, std::slice::from_ref(&task)).await;
    let done = StateChange {
        at: plus_ms(task.created_at, 10),
        ..StateChange::new(task.id, TaskState::Success).result(Some(b"ok".to_vec()))
    };
    assert_eq!(
        log.record(&done).await.expect("record success"),
        RecordOutcome::Applied
    );
    let before = must_get(&*log, &task).await;

    let late_failure = StateChange {
        at: plus_ms(task.created_at, 20),
        ..StateChange::new(task.id, TaskState::Failed)
            .error("late failure")
            .result(Some(b"late".to_vec()))
    };
    assert_eq!(
        log.record(&late_failure)
            .await
            .expect("record late failure"),
        RecordOutcome::Stale {
            current: TaskState::Success
        }
    );
    let late_queued = StateChange {
        at: plus_ms(task.created_at, 30),
        ..StateChange::new(task.id, TaskState::Queued)
    };
    assert_eq!(
        log.record(&late_queued).await.expect("record late queued"),
        RecordOutcome::Stale {
            current: TaskState::Success
        }
    );
    assert_eq!(
        must_get(&*log, &task).await,
        before,
        "a stale write changes nothing"
    );
}

/// For every pair of states (`from`, `to`), recording `to` on a task in `from` follows the
/// Rust rule ([`TaskState::transition_to`]): applied when it advances, unchanged when it is
/// the same state, stale otherwise, and the stored state is the one the rule keeps.
pub async fn record_follows_the_rule_for_every_pair_of_states(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    for from in TaskState::ALL {
        for to in TaskState::ALL {
            let mut task = sample::task("conformance.pairs");
            task.status = from;
            create_all(&*log, std::slice::from_ref(&task)).await;
            let outcome = log
                .record(&StateChange::new(task.id, to))
                .await
                .unwrap_or_else(|err| panic!("record {from} -> {to}: {err}"));
            let (want_outcome, want_state) = match from.transition_to(to) {
                Transition::Advance => (RecordOutcome::Applied, to),
                Transition::Same => (RecordOutcome::Unchanged, from),
                Transition::Stale => (RecordOutcome::Stale { current: from }, from),
            };
            assert_eq!(outcome, want_outcome, "{from} -> {to}");
            assert_eq!(
                must_get(&*log, &task).await.status,
                want_state,
                "{from} -> {to}"
            );
        }
    }
}

/// `record` for an id with no record returns `Missing` and creates nothing.
pub async fn record_unknown_id_is_missing(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let id = TaskId::new();
    let change = StateChange::new(id, TaskState::Success);
    assert_eq!(
        log.record(&change).await.expect("record"),
        RecordOutcome::Missing
    );
    assert_eq!(
        log.get(id).await.expect("get"),
        None,
        "record creates no task"
    );
}

/// Creating a task again (a re-sent create) never moves its state backwards.
pub async fn create_never_moves_a_task_backwards(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let task = sample::task("conformance.recreate");
    create_all(&*log, std::slice::from_ref(&task)).await;
    let done = StateChange {
        at: plus_ms(task.created_at, 10),
        ..StateChange::new(task.id, TaskState::Success).result(Some(b"r".to_vec()))
    };
    assert_eq!(
        log.record(&done).await.expect("record"),
        RecordOutcome::Applied
    );
    let before = must_get(&*log, &task).await;

    create_all(&*log, std::slice::from_ref(&task)).await;
    let mut queued = task.clone();
    queued.status = TaskState::Queued;
    create_all(&*log, std::slice::from_ref(&queued)).await;
    let after = must_get(&*log, &task).await;
    assert_eq!(
        after.status,
        TaskState::Success,
        "re-creating kept the final state"
    );
    assert_eq!(after.result, before.result, "re-creating kept the result");
}
