//! Changes held back by `record_behind`: merged into the next change of their task with the
//! same row, history and answer as writing them one by one; read back at once through the
//! same log; written when the merge window ends, on `flush`, and when the last handle of the
//! log is dropped.

mod support;

use std::time::Duration;

use cogman_core::{StateChange, Task, TaskLog, TaskState};
use cogman_postgres::PostgresLog;
use cogman_testkit::{history_states, sample, wait_until};

const LONG_WINDOW: Duration = Duration::from_secs(3600);
const DEADLINE: Duration = Duration::from_secs(10);

/// A change of `state` with every optional field set, so merging must keep the right ones.
fn full_change(task: &Task, state: TaskState, n: u8) -> StateChange {
    let mut change = StateChange::new(task.id, state)
        .worker(format!("w{n}"))
        .duration(Duration::from_millis(u64::from(n) * 10));
    if matches!(
        state,
        TaskState::Failed | TaskState::Retry | TaskState::Cancelled
    ) {
        change = change.error(format!("error {n}"));
    }
    if state == TaskState::Success {
        change = change.result(Some(vec![n; 3]));
    }
    change
}

/// The status in the table itself, not overlaid with the log's held changes.
async fn stored_status(guard: &support::SchemaGuard, task: &Task) -> String {
    let mut admin = support::admin().await.expect("admin connection");
    sqlx_core::query_scalar::query_scalar(sqlx_core::sql_str::AssertSqlSafe(format!(
        "SELECT status FROM \"{}\".tasks WHERE id = $1",
        guard.schema
    )))
    .bind(task.id.as_uuid())
    .fetch_one(&mut admin)
    .await
    .expect("status")
}

/// A log in a fresh schema holding changes back for `window`, and a task created in it.
async fn log_with_task(test: &str, window: Duration) -> (PostgresLog, support::SchemaGuard, Task) {
    let config = support::config(test).merge_window(window);
    let (log, guard) = support::fresh_log_with(config).await;
    let task = sample::task(test);
    log.create(&task).await.expect("create");
    (log, guard, task)
}

fn for_task(change: &StateChange, task: &Task) -> StateChange {
    StateChange {
        task_id: task.id,
        ..change.clone()
    }
}

#[tokio::test]
async fn merged_changes_give_the_same_row_history_and_answer_as_one_by_one() {
    let config = support::config("merge_equal").merge_window(LONG_WINDOW);
    let (log, _guard) = support::fresh_log_with(config).await;
    let states = [
        TaskState::Queued,
        TaskState::InProgress,
        TaskState::Success,
        TaskState::Failed,
        TaskState::Cancelled,
    ];
    let mut sequences: Vec<Vec<TaskState>> = Vec::new();
    for a in states {
        for b in states {
            sequences.push(vec![a, b]);
            for c in states {
                sequences.push(vec![a, b, c]);
            }
        }
    }
    for sequence in &sequences {
        let one_by_one = sample::task("merge.a");
        let merged = sample::task("merge.b");
        log.create(&one_by_one).await.expect("create");
        log.create(&merged).await.expect("create");
        let changes: Vec<StateChange> = (1_u8..)
            .zip(sequence)
            .map(|(n, state)| full_change(&one_by_one, *state, n))
            .collect();
        let (last, earlier) = changes.split_last().expect("at least two changes");
        for change in earlier {
            log.record(change).await.expect("record");
            log.record_behind(&for_task(change, &merged))
                .await
                .expect("record_behind");
        }
        let expected = log.record(last).await.expect("record");
        let answer = log
            .record(&for_task(last, &merged))
            .await
            .expect("merged record");
        assert_eq!(answer, expected, "answer for {sequence:?}");

        let a = log.get(one_by_one.id).await.expect("get").expect("a");
        let b = log.get(merged.id).await.expect("get").expect("b");
        assert_eq!(
            (
                &b.status,
                &b.fail_error,
                &b.result,
                b.duration,
                b.updated_at
            ),
            (
                &a.status,
                &a.fail_error,
                &a.result,
                a.duration,
                a.updated_at
            ),
            "row for {sequence:?}"
        );
        let history_a = log.history(one_by_one.id).await.expect("history");
        let history_b = log.history(merged.id).await.expect("history");
        // The creations differ in time; every change after them must be the same.
        let strip = |h: Vec<StateChange>| -> Vec<StateChange> {
            h.into_iter()
                .skip(1)
                .map(|c| StateChange {
                    task_id: one_by_one.id,
                    ..c
                })
                .collect()
        };
        assert_eq!(
            strip(history_b),
            strip(history_a),
            "history for {sequence:?}"
        );
    }
}

#[tokio::test]
async fn a_held_change_waits_for_the_next_change_of_its_task() {
    let (log, guard, task) = log_with_task("merge_next", LONG_WINDOW).await;
    log.record_behind(&StateChange::new(task.id, TaskState::Queued))
        .await
        .expect("record_behind queued");
    log.record_behind(&StateChange::new(task.id, TaskState::InProgress))
        .await
        .expect("record_behind in progress");
    assert_eq!(
        stored_status(&guard, &task).await,
        "initiated",
        "held, not written yet"
    );
    let read = log.get(task.id).await.expect("get").expect("task");
    assert_eq!(
        read.status,
        TaskState::InProgress,
        "this log reads its held changes"
    );

    let answer = log
        .record(&StateChange::new(task.id, TaskState::Success))
        .await
        .expect("record success");
    assert_eq!(answer, cogman_core::RecordOutcome::Applied);
    assert_eq!(
        history_states(&log, task.id).await,
        [
            TaskState::Initiated,
            TaskState::Queued,
            TaskState::InProgress,
            TaskState::Success
        ]
    );
}

#[tokio::test]
async fn held_changes_of_a_task_that_was_cancelled_do_not_apply() {
    let (log, _guard, task) = log_with_task("merge_stale", LONG_WINDOW).await;
    log.record(&StateChange::new(task.id, TaskState::Cancelled))
        .await
        .expect("cancel");
    log.record_behind(&StateChange::new(task.id, TaskState::InProgress))
        .await
        .expect("record_behind");
    let answer = log
        .record(&StateChange::new(task.id, TaskState::Success))
        .await
        .expect("record success");
    assert_eq!(
        answer,
        cogman_core::RecordOutcome::Stale {
            current: TaskState::Cancelled
        }
    );
    assert_eq!(
        history_states(&log, task.id).await,
        [TaskState::Initiated, TaskState::Cancelled]
    );
}

#[tokio::test]
async fn a_held_change_is_written_when_its_window_ends() {
    let (log, guard, task) = log_with_task("merge_window", Duration::from_millis(50)).await;
    log.record_behind(&StateChange::new(task.id, TaskState::Queued))
        .await
        .expect("record_behind");
    wait_until("the held change to be written", DEADLINE, || async {
        stored_status(&guard, &task).await == "queued"
    })
    .await
    .expect("written once the window ended, with no other write of the task");
    assert_eq!(
        history_states(&log, task.id).await,
        [TaskState::Initiated, TaskState::Queued]
    );
}

#[tokio::test]
async fn flush_and_dropping_the_log_write_every_held_change() {
    let config = support::config("merge_flush").merge_window(LONG_WINDOW);
    let (log, guard) = support::fresh_log_with(config.clone()).await;
    let flushed = sample::task("merge.flush");
    let dropped = sample::task("merge.drop");
    log.create(&flushed).await.expect("create");
    log.create(&dropped).await.expect("create");

    log.record_behind(&StateChange::new(flushed.id, TaskState::Queued))
        .await
        .expect("record_behind");
    log.flush().await.expect("flush");
    assert_eq!(
        stored_status(&guard, &flushed).await,
        "queued",
        "flush answers once written"
    );

    let other = PostgresLog::connect(config).await.expect("second handle");
    other
        .record_behind(&StateChange::new(dropped.id, TaskState::Queued))
        .await
        .expect("record_behind");
    drop(other);
    wait_until(
        "the dropped log's held change to be written",
        DEADLINE,
        || async {
            matches!(log.get(dropped.id).await, Ok(Some(t)) if t.status == TaskState::Queued)
        },
    )
    .await
    .expect("held changes are written when the last handle is dropped");
}
