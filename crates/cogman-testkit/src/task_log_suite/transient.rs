//! Behaviours of `record_transient`: it answers as `record` does, a read through the log sees
//! the change at once, later changes are applied after it, and after `flush` it is in the
//! history like any other change.

use cogman_core::{RecordOutcome, StateChange, TaskId, TaskLog, TaskState};

use super::held::{change, flush};
use super::{create_all, must_get, recorded_changes};
use crate::sample;
use crate::{LogFactory, LogFixture as _};

async fn transient(log: &dyn TaskLog, change: &StateChange) -> RecordOutcome {
    log.record_transient(change).await.unwrap_or_else(|err| {
        panic!(
            "record_transient {} {}: {err}",
            change.task_id, change.state
        )
    })
}

/// `record_transient` gives `record`'s answers (applied, unchanged, stale, missing), `get`
/// sees its change at once, a later `record` is answered after it, and the history keeps it.
pub async fn record_transient_answers_as_record_does(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let task = sample::task("conformance.transient");
    create_all(&*log, std::slice::from_ref(&task)).await;

    let queued = change(&task, TaskState::Queued, 1, "w-transient");
    assert_eq!(transient(&*log, &queued).await, RecordOutcome::Applied);
    let read = must_get(&*log, &task).await;
    assert_eq!(
        (read.status, read.updated_at),
        (TaskState::Queued, queued.at),
        "get sees the change at once"
    );
    assert_eq!(
        transient(&*log, &queued).await,
        RecordOutcome::Unchanged,
        "a replay"
    );

    let running = change(&task, TaskState::InProgress, 2, "w-transient");
    assert_eq!(transient(&*log, &running).await, RecordOutcome::Applied);
    assert_eq!(
        transient(&*log, &change(&task, TaskState::Queued, 3, "w-late")).await,
        RecordOutcome::Stale {
            current: TaskState::InProgress
        },
        "a late change"
    );
    assert_eq!(
        log.record(&change(&task, TaskState::Queued, 3, "w-late"))
            .await
            .expect("record"),
        RecordOutcome::Stale {
            current: TaskState::InProgress
        },
        "`record` is answered after the transient changes"
    );
    let unknown = StateChange::new(TaskId::new(), TaskState::Queued);
    assert_eq!(
        transient(&*log, &unknown).await,
        RecordOutcome::Missing,
        "an unknown task"
    );

    let done = change(&task, TaskState::Success, 4, "w-transient");
    assert_eq!(
        log.record(&done).await.expect("record"),
        RecordOutcome::Applied
    );
    flush(&*log).await;
    assert_eq!(must_get(&*log, &task).await.status, TaskState::Success);
    assert_eq!(
        recorded_changes(&*log, task.id).await,
        vec![queued, running, done],
        "the transient changes are in the history, in order"
    );
}
