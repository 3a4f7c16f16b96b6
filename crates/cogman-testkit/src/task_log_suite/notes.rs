//! Behaviours of `note`: a history note is kept in the history, in order, with the state the
//! task was in; it never changes the record; a task keeps a bounded number of them; a task
//! without a record gets none; a note made while a change is held back follows that change.

use cogman_core::{HistoryNote, NoteKind, NoteOutcome, RecordOutcome, StateChange, TaskState};

use super::{create_all, must_get, recorded_changes};
use crate::sample::{self, plus_ms};
use crate::{LogFactory, LogFixture as _};

/// A note of `kind` by `worker` on `task_id`, `ms` milliseconds after `t0`.
fn note_at(
    task_id: cogman_core::TaskId,
    kind: NoteKind,
    worker: &str,
    t0: chrono::DateTime<chrono::Utc>,
    ms: i64,
) -> HistoryNote {
    HistoryNote {
        at: plus_ms(t0, ms),
        ..HistoryNote::new(task_id, kind, worker)
    }
}

/// Notes sit between the changes they came after, with the task's state at the time, their
/// kind and worker; the record itself does not change.
pub async fn notes_are_kept_in_the_history_in_order(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let task = sample::task("conformance.notes");
    create_all(&*log, std::slice::from_ref(&task)).await;
    let t0 = task.created_at;
    let queued = StateChange {
        at: plus_ms(t0, 1),
        ..StateChange::new(task.id, TaskState::Queued)
    };
    let waiting = note_at(task.id, NoteKind::WaitingForHandler, "w-0", t0, 2);
    let running = StateChange {
        at: plus_ms(t0, 3),
        ..StateChange::new(task.id, TaskState::InProgress).worker("w-1")
    };
    let rerun = note_at(task.id, NoteKind::Rerun, "w-2", t0, 4);
    let done = StateChange {
        at: plus_ms(t0, 5),
        duration: Some(0.5),
        ..StateChange::new(task.id, TaskState::Success)
            .result(Some(b"ok".to_vec()))
            .worker("w-2")
    };

    assert_eq!(
        log.record(&queued).await.expect("queued"),
        RecordOutcome::Applied
    );
    assert_eq!(log.note(&waiting).await.expect("note"), NoteOutcome::Added);
    let before = must_get(&*log, &task).await;
    assert_eq!(
        log.record(&running).await.expect("running"),
        RecordOutcome::Applied
    );
    assert_eq!(log.note(&rerun).await.expect("note"), NoteOutcome::Added);
    let during = must_get(&*log, &task).await;
    assert_eq!(
        during.status,
        TaskState::InProgress,
        "a note changes no state"
    );
    assert_eq!(
        during.updated_at, running.at,
        "a note does not touch the record"
    );
    assert_eq!(before.status, TaskState::Queued);
    assert_eq!(
        log.record(&done).await.expect("done"),
        RecordOutcome::Applied
    );

    let history = recorded_changes(&*log, task.id).await;
    assert_eq!(
        history,
        vec![
            queued,
            waiting.entry(TaskState::Queued),
            running,
            rerun.entry(TaskState::InProgress),
            done,
        ],
        "notes are in the history, in order, with the state they were made in"
    );
}

/// A task keeps at most `HistoryNote::MAX_PER_TASK` notes; a task without a record gets none.
pub async fn notes_are_bounded_per_task_and_need_a_record(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let task = sample::task("conformance.notes.bound");
    create_all(&*log, std::slice::from_ref(&task)).await;
    let t0 = task.created_at;
    // Queued first, so that no note is taken for the creation entry a log may keep.
    let queued = StateChange::new(task.id, TaskState::Queued);
    assert_eq!(
        log.record(&queued).await.expect("queued"),
        RecordOutcome::Applied
    );
    for i in 0..HistoryNote::MAX_PER_TASK {
        let ms = i64::try_from(i).expect("small") + 1;
        let note = note_at(task.id, NoteKind::WaitingForHandler, "w", t0, ms);
        assert_eq!(
            log.note(&note).await.expect("note"),
            NoteOutcome::Added,
            "note {i}"
        );
    }
    let one_more = note_at(task.id, NoteKind::WaitingForHandler, "w", t0, 1000);
    assert_eq!(log.note(&one_more).await.expect("note"), NoteOutcome::Full);
    let notes = recorded_changes(&*log, task.id)
        .await
        .into_iter()
        .filter(|entry| entry.note.is_some())
        .count();
    assert_eq!(notes, HistoryNote::MAX_PER_TASK);

    let unknown = HistoryNote::new(cogman_core::TaskId::new(), NoteKind::Rerun, "w");
    assert_eq!(
        log.note(&unknown).await.expect("note"),
        NoteOutcome::Missing
    );
    assert!(
        log.history(unknown.task_id)
            .await
            .expect("history")
            .is_empty()
    );
}

/// A note made while a change of its task is held back (`record_behind`) comes after that
/// change in the history and carries the state it brought.
pub async fn a_note_follows_the_changes_held_before_it(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let task = sample::task("conformance.notes.held");
    create_all(&*log, std::slice::from_ref(&task)).await;
    let t0 = task.created_at;
    let running = StateChange {
        at: plus_ms(t0, 1),
        ..StateChange::new(task.id, TaskState::InProgress).worker("w-1")
    };
    log.record_behind(&running).await.expect("held");
    let rerun = note_at(task.id, NoteKind::Rerun, "w-2", t0, 2);
    assert_eq!(log.note(&rerun).await.expect("note"), NoteOutcome::Added);
    log.flush().await.expect("flush");
    assert_eq!(
        recorded_changes(&*log, task.id).await,
        vec![running, rerun.entry(TaskState::InProgress)]
    );
}
