//! Behaviours of `history` (every applied change, oldest first) and `purge_before` (only final
//! tasks created before the cutoff go, with their history).

use chrono::TimeDelta;
use cogman_core::{RecordOutcome, StateChange, TaskState};

use super::{create_all, must_get, recorded_changes};
use crate::sample::{self, plus_ms};
use crate::{LogFactory, LogFixture as _};

/// `history` lists the applied changes oldest first, with their error, result, duration and
/// worker; replays and stale writes are not in it. A leading entry for the creation itself is
/// allowed.
pub async fn history_lists_applied_changes_oldest_first(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let task = sample::task("conformance.history");
    create_all(&*log, std::slice::from_ref(&task)).await;
    let t0 = task.created_at;
    let applied = vec![
        StateChange {
            at: plus_ms(t0, 1),
            ..StateChange::new(task.id, TaskState::Queued)
        },
        StateChange {
            at: plus_ms(t0, 2),
            ..StateChange::new(task.id, TaskState::InProgress).worker("w-1")
        },
        StateChange {
            at: plus_ms(t0, 3),
            duration: Some(1.5),
            ..StateChange::new(task.id, TaskState::Failed)
                .error("it broke")
                .result(Some(vec![0xFF, 0]))
                .worker("w-1")
        },
    ];
    for (i, change) in applied.iter().enumerate() {
        assert_eq!(
            log.record(change).await.expect("record"),
            RecordOutcome::Applied
        );
        if i == 1 {
            let replay = StateChange {
                at: plus_ms(t0, 2),
                ..change.clone()
            };
            assert_eq!(
                log.record(&replay).await.expect("replay"),
                RecordOutcome::Unchanged
            );
        }
    }
    let stale = StateChange::new(task.id, TaskState::Queued);
    assert!(matches!(
        log.record(&stale).await.expect("stale"),
        RecordOutcome::Stale { .. }
    ));

    let history = recorded_changes(&*log, task.id).await;
    assert_eq!(
        history, applied,
        "history holds the applied changes, oldest first"
    );

    let other = sample::task("conformance.history.other");
    create_all(&*log, std::slice::from_ref(&other)).await;
    let other_history = log
        .history(other.id)
        .await
        .expect("history of another task");
    assert!(
        other_history.iter().all(|c| c.task_id == other.id),
        "history is per task"
    );
}

/// `purge_before` deletes final tasks created before the cutoff and returns how many; tasks
/// not final, or created after the cutoff, stay.
pub async fn purge_deletes_only_old_final_tasks(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let now = sample::now_ms();
    let old = now - TimeDelta::days(40);
    let cutoff = now - TimeDelta::days(30);

    let mut old_success = sample::task_created_at("conformance.purge", old);
    old_success.status = TaskState::Success;
    let old_failed = sample::task_created_at("conformance.purge", old);
    let mut old_queued = sample::task_created_at("conformance.purge", old);
    old_queued.status = TaskState::Queued;
    let mut new_success = sample::task_created_at("conformance.purge", now);
    new_success.status = TaskState::Success;
    create_all(
        &*log,
        &[
            old_success.clone(),
            old_failed.clone(),
            old_queued.clone(),
            new_success.clone(),
        ],
    )
    .await;
    let failed = StateChange::new(old_failed.id, TaskState::Failed).error("gone");
    assert_eq!(
        log.record(&failed).await.expect("record"),
        RecordOutcome::Applied
    );

    assert_eq!(
        log.purge_before(cutoff).await.expect("purge"),
        2,
        "two old final tasks"
    );
    for gone in [&old_success, &old_failed] {
        assert_eq!(
            log.get(gone.id).await.expect("get"),
            None,
            "{} purged",
            gone.id
        );
        assert!(
            log.history(gone.id).await.expect("history").is_empty(),
            "history of {} purged",
            gone.id
        );
    }
    assert_eq!(must_get(&*log, &old_queued).await.status, TaskState::Queued);
    assert_eq!(
        must_get(&*log, &new_success).await.status,
        TaskState::Success
    );
    assert_eq!(log.purge_before(cutoff).await.expect("purge again"), 0);
}

/// `purge_before` keeps the old attempts of a chain while a newer attempt of it still waits or
/// runs (so `status` of the first id keeps answering for the chain), and deletes them with the
/// rest of the chain once every attempt has finished.
pub async fn purge_keeps_old_attempts_while_the_chain_runs(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let now = sample::now_ms();
    let old = now - TimeDelta::days(40);
    let cutoff = now - TimeDelta::days(30);
    // Chain `waiting`: an old attempt that failed into a retry, whose newest attempt (sent now,
    // with a long backoff) is still scheduled.
    let mut first = sample::task_created_at("conformance.purge.chain", old);
    first.status = TaskState::Retry;
    let mut waiting = first.next_attempt(now, now);
    waiting.created_at = now;
    waiting.updated_at = now;
    waiting.status = TaskState::Scheduled;
    // Chain `running`: two old attempts, the newest one still running.
    let mut running_first = sample::task_created_at("conformance.purge.chain", old);
    running_first.status = TaskState::Retry;
    let mut running = running_first.next_attempt(old, old);
    running.created_at = old;
    running.status = TaskState::InProgress;
    // Chain `done`: two old attempts, both finished.
    let mut done_first = sample::task_created_at("conformance.purge.chain", old);
    done_first.status = TaskState::Retry;
    let mut done = done_first.next_attempt(old, old);
    done.created_at = old;
    done.status = TaskState::Failed;
    create_all(
        &*log,
        &[
            first.clone(),
            waiting.clone(),
            running_first.clone(),
            running.clone(),
            done_first.clone(),
            done.clone(),
        ],
    )
    .await;

    assert_eq!(
        log.purge_before(cutoff).await.expect("purge"),
        2,
        "only the finished chain goes"
    );
    for gone in [&done_first, &done] {
        assert_eq!(
            log.get(gone.id).await.expect("get"),
            None,
            "{} purged",
            gone.id
        );
    }
    for kept in [&first, &waiting, &running_first, &running] {
        assert_eq!(
            must_get(&*log, kept).await.status,
            kept.status,
            "{} kept",
            kept.id
        );
    }

    // The newest attempt of `waiting` ends: its old first attempt may go now; the newest
    // attempt itself is younger than the cutoff and stays.
    let success = StateChange::new(waiting.id, TaskState::Success);
    assert_eq!(
        log.record(&success).await.expect("record"),
        RecordOutcome::Applied
    );
    assert_eq!(log.purge_before(cutoff).await.expect("purge again"), 1);
    assert_eq!(log.get(first.id).await.expect("get"), None);
    assert_eq!(must_get(&*log, &waiting).await.status, TaskState::Success);
    assert_eq!(
        must_get(&*log, &running_first).await.status,
        TaskState::Retry
    );
}
