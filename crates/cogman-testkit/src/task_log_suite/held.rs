//! Behaviours of changes held back by `record_behind` and written by `flush`: a held change is
//! read back at once through the log that holds it, is applied before any later change of its
//! task (and so shapes that change's answer), follows the transition rule, and is written —
//! where `list`, `counts` and `history` see it — on `flush` and, without one, when its time is
//! up.
//!
//! A log that holds nothing back (the trait's default) passes trivially. For `flush` to be what
//! writes the changes, a factory of a holding log should hold them for a second or more
//! (shorter than [`WRITE_DEADLINE`]).

use std::time::Duration;

use cogman_core::{
    CountQuery, PageRequest, RecordOutcome, StateChange, Task, TaskFilter, TaskId, TaskLog,
    TaskState,
};

use super::{create_all, must_get, recorded_changes};
use crate::sample::{self, plus_ms};
use crate::wait::wait_until;
use crate::{LogFactory, LogFixture as _};

/// How long a held change may wait to be written without a `flush`.
pub const WRITE_DEADLINE: Duration = Duration::from_secs(10);

/// Tasks in [`flush_writes_every_held_change`].
const FLUSHED_TASKS: usize = 25;

/// A change of `task` to `state`, `ms` after its creation, by worker `worker`.
pub(crate) fn change(task: &Task, state: TaskState, ms: i64, worker: &str) -> StateChange {
    StateChange {
        at: plus_ms(task.created_at, ms),
        ..StateChange::new(task.id, state).worker(worker)
    }
}

pub(crate) async fn behind(log: &dyn TaskLog, change: &StateChange) {
    log.record_behind(change)
        .await
        .unwrap_or_else(|err| panic!("record_behind {} {}: {err}", change.task_id, change.state));
}

pub(crate) async fn flush(log: &dyn TaskLog) {
    log.flush()
        .await
        .unwrap_or_else(|err| panic!("flush: {err}"));
}

async fn record(log: &dyn TaskLog, change: &StateChange) -> RecordOutcome {
    log.record(change)
        .await
        .unwrap_or_else(|err| panic!("record {} {}: {err}", change.task_id, change.state))
}

/// A held change is read back by `get` at once (state and time), before it is written.
pub async fn held_change_is_read_back_at_once(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let task = sample::task("conformance.held.read");
    create_all(&*log, std::slice::from_ref(&task)).await;

    let queued = change(&task, TaskState::Queued, 1, "w-read");
    behind(&*log, &queued).await;
    let read = must_get(&*log, &task).await;
    assert_eq!(
        (read.status, read.updated_at),
        (TaskState::Queued, queued.at),
        "get sees the held change"
    );

    let running = change(&task, TaskState::InProgress, 2, "w-read");
    behind(&*log, &running).await;
    let read = must_get(&*log, &task).await;
    assert_eq!(
        (read.status, read.updated_at),
        (TaskState::InProgress, running.at),
        "get sees the second held change on top of the first"
    );

    flush(&*log).await;
    assert_eq!(must_get(&*log, &task).await.status, TaskState::InProgress);
    assert_eq!(
        recorded_changes(&*log, task.id).await,
        vec![queued, running],
        "both held changes are in the history, in order"
    );
}

/// Changes held for a task are applied before a later `record` of the task, in the order they
/// were given: the later change is answered as if they had been written one by one, and the
/// history keeps all of them, oldest first.
pub async fn held_changes_apply_before_later_changes_of_their_task(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let task = sample::task("conformance.held.order");
    create_all(&*log, std::slice::from_ref(&task)).await;

    let queued = change(&task, TaskState::Queued, 1, "w-order");
    let running = change(&task, TaskState::InProgress, 2, "w-order");
    behind(&*log, &queued).await;
    behind(&*log, &running).await;

    assert_eq!(
        record(&*log, &change(&task, TaskState::Queued, 3, "w-late")).await,
        RecordOutcome::Stale {
            current: TaskState::InProgress
        },
        "a later `queued` is stale behind the held `in_progress`"
    );
    assert_eq!(
        record(&*log, &running).await,
        RecordOutcome::Unchanged,
        "replaying the held `in_progress` changes nothing"
    );
    let done = StateChange {
        duration: Some(0.5),
        ..change(&task, TaskState::Success, 4, "w-order").result(Some(vec![0, 0xFF]))
    };
    assert_eq!(record(&*log, &done).await, RecordOutcome::Applied);
    let read = must_get(&*log, &task).await;
    assert_eq!(read.status, TaskState::Success);
    assert_eq!(read.result, Some(vec![0, 0xFF]));
    assert_eq!(read.duration, Some(0.5));

    flush(&*log).await;
    assert_eq!(
        recorded_changes(&*log, task.id).await,
        vec![queued, running, done],
        "the held changes precede the later one in the history"
    );
    assert_eq!(must_get(&*log, &task).await.status, TaskState::Success);
}

/// A held change follows the transition rule when applied: a stale or repeated one changes
/// nothing and is not in the history, and one for an unknown task is dropped without failing
/// `flush`.
pub async fn held_changes_follow_the_transition_rule(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let task = sample::task("conformance.held.rule");
    create_all(&*log, std::slice::from_ref(&task)).await;
    let done = change(&task, TaskState::Success, 3, "w-rule");
    assert_eq!(record(&*log, &done).await, RecordOutcome::Applied);

    behind(&*log, &change(&task, TaskState::Queued, 4, "w-stale")).await;
    behind(&*log, &change(&task, TaskState::Success, 5, "w-replay")).await;
    let unknown = TaskId::new();
    behind(&*log, &StateChange::new(unknown, TaskState::Queued)).await;
    assert_eq!(must_get(&*log, &task).await.updated_at, done.at);

    flush(&*log).await;
    let read = must_get(&*log, &task).await;
    assert_eq!(
        (read.status, read.updated_at),
        (TaskState::Success, done.at),
        "stale and repeated held changes change nothing"
    );
    assert_eq!(recorded_changes(&*log, task.id).await, vec![done]);
    assert_eq!(
        log.get(unknown).await.expect("get an unknown id"),
        None,
        "a held change creates no record"
    );
}

/// `flush` writes every held change of every task: afterwards `list`, `counts` and `history`
/// (which read what is written) show all of them.
pub async fn flush_writes_every_held_change(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let tasks: Vec<Task> = (0..FLUSHED_TASKS)
        .map(|_| sample::task("conformance.held.flush"))
        .collect();
    create_all(&*log, &tasks).await;
    for task in &tasks {
        behind(&*log, &change(task, TaskState::Queued, 1, "w-flush")).await;
        behind(&*log, &change(task, TaskState::InProgress, 2, "w-flush")).await;
    }
    flush(&*log).await;

    let running = TaskFilter {
        statuses: vec![TaskState::InProgress],
        ..TaskFilter::default()
    };
    let page = log
        .list(&running, PageRequest::first(100))
        .await
        .expect("list");
    let mut listed: Vec<TaskId> = page.items.iter().map(|t| t.id).collect();
    let mut wanted: Vec<TaskId> = tasks.iter().map(|t| t.id).collect();
    listed.sort();
    wanted.sort();
    assert_eq!(listed, wanted, "every task is listed in its held state");

    let counts = log.counts(&CountQuery::all()).await.expect("counts");
    let in_progress: u64 = counts
        .iter()
        .map(|b| b.counts.get(TaskState::InProgress))
        .sum();
    assert_eq!(in_progress, FLUSHED_TASKS as u64, "counts see every change");

    for task in &tasks {
        let states: Vec<TaskState> = recorded_changes(&*log, task.id)
            .await
            .iter()
            .map(|c| c.state)
            .collect();
        assert_eq!(
            states,
            vec![TaskState::Queued, TaskState::InProgress],
            "history of {}",
            task.id
        );
    }
}

/// A held change is written when its time is up even if nobody calls `flush` (within
/// [`WRITE_DEADLINE`]).
pub async fn held_change_is_written_when_its_time_is_up(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let task = sample::task("conformance.held.due");
    create_all(&*log, std::slice::from_ref(&task)).await;
    let queued = change(&task, TaskState::Queued, 1, "w-due");
    behind(&*log, &queued).await;

    let queued_filter = TaskFilter {
        statuses: vec![TaskState::Queued],
        ..TaskFilter::default()
    };
    wait_until("the held change to be written", WRITE_DEADLINE, || {
        let (log, filter) = (&log, &queued_filter);
        async move {
            let page = log
                .list(filter, PageRequest::first(10))
                .await
                .expect("list");
            page.items.iter().any(|t| t.id == task.id)
        }
    })
    .await
    .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(recorded_changes(&*log, task.id).await, vec![queued]);
}
