//! Outage resilience without disturbing the shared server: backends with this test's own
//! `application_name` are terminated (`pg_terminate_backend`) again and again while many
//! concurrent writes run; every write must land exactly once and no task may go backwards.

mod support;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cogman_core::{RecordOutcome, StateChange, TaskLog, TaskState};
use cogman_testkit::sample;
use sqlx_core::connection::Connection as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_land_while_backends_are_terminated() {
    let config = support::config("outage");
    let app = config.application_name.clone();
    let (log, _guard) = support::fresh_log_with(config).await;
    let tasks: Vec<_> = (0..200).map(|_| sample::task("pg.outage")).collect();
    for task in &tasks {
        log.create(task).await.expect("create");
    }

    let done = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(AtomicUsize::new(0));
    let terminated = Arc::new(AtomicUsize::new(0));
    // Terminates every backend of this log after every 50 writes, so faults are spread over
    // the whole run.
    let killer = {
        let (done, progress, terminated) = (
            Arc::clone(&done),
            Arc::clone(&progress),
            Arc::clone(&terminated),
        );
        let mut admin = support::admin().await.expect("admin connection");
        tokio::spawn(async move {
            let mut next = 50;
            while !done.load(Ordering::Acquire) {
                if progress.load(Ordering::Acquire) >= next {
                    next += 50;
                    let n: i64 = sqlx_core::query_scalar::query_scalar(
                        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) \
                         FROM pg_stat_activity WHERE application_name = $1",
                    )
                    .bind(&app)
                    .fetch_one(&mut admin)
                    .await
                    .expect("terminate");
                    terminated.fetch_add(usize::try_from(n).unwrap_or(0), Ordering::AcqRel);
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            admin.close().await.expect("close admin");
        })
    };

    let mut writers = tokio::task::JoinSet::new();
    for chunk in tasks.chunks(10) {
        let (log, chunk, progress) = (log.clone(), chunk.to_vec(), Arc::clone(&progress));
        writers.spawn(async move {
            let mut seen: HashMap<_, u8> = HashMap::new();
            for task in &chunk {
                for state in [TaskState::Queued, TaskState::InProgress, TaskState::Success] {
                    let outcome = log
                        .record(&StateChange::new(task.id, state))
                        .await
                        .unwrap_or_else(|e| panic!("record {state} of {}: {e}", task.id));
                    // A retry of a commit whose answer was lost finds it already applied.
                    assert!(
                        matches!(outcome, RecordOutcome::Applied | RecordOutcome::Unchanged),
                        "{outcome:?}"
                    );
                    let stored = log.get(task.id).await.expect("get").expect("exists");
                    let before = seen.insert(task.id, stored.status.rank()).unwrap_or(0);
                    assert!(stored.status.rank() >= before, "went backwards");
                    assert_eq!(stored.status, state);
                    progress.fetch_add(1, Ordering::AcqRel);
                }
            }
        });
    }
    while let Some(joined) = writers.join_next().await {
        joined.expect("writer");
    }
    done.store(true, Ordering::Release);
    killer.await.expect("killer");
    let terminated = terminated.load(Ordering::Acquire);
    eprintln!("terminated {terminated} backends during the run");
    assert!(
        terminated >= 3,
        "backends were terminated during the run: {terminated}"
    );
    for task in &tasks {
        let stored = log.get(task.id).await.expect("get").expect("exists");
        assert_eq!(stored.status, TaskState::Success);
        let states: Vec<_> = log
            .history(task.id)
            .await
            .expect("history")
            .iter()
            .map(|c| c.state)
            .collect();
        assert_eq!(
            states,
            [
                TaskState::Initiated,
                TaskState::Queued,
                TaskState::InProgress,
                TaskState::Success
            ],
            "each change recorded exactly once"
        );
    }
}
