//! Stress checks a backend's own tests run where the conformance suite cannot: several
//! handles on one store writing in reverse order ([`reversed_writes_never_go_backwards`]), and
//! task lifecycles recorded while a fault keeps cutting the connections
//! ([`lifecycles_survive_faults`]). Both panic (through assertions) on the first difference.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cogman_core::{RecordOutcome, StateChange, TaskLog, TaskState};

use crate::sample;
use crate::task_log_suite::{create_all, must_get};

/// The final states the tasks of [`reversed_writes_never_go_backwards`] end in, in turn.
const FINALS: [TaskState; 4] = [
    TaskState::Success,
    TaskState::Failed,
    TaskState::Cancelled,
    TaskState::Retry,
];

/// The changes of [`lifecycles_survive_faults`], in order.
const LIFECYCLE: [TaskState; 3] = [TaskState::Queued, TaskState::InProgress, TaskState::Success];

/// `tasks` tasks get all their changes (scheduled, queued, in_progress and a final state)
/// newest first, spread over `logs` — several handles on one store (pools, connections) —
/// each handle sending its share at once, while a watcher reads every task again and again
/// through the first handle. No task is ever seen going backwards; each ends in its final
/// state, with a history that only advances and ends there.
pub async fn reversed_writes_never_go_backwards(logs: &[Arc<dyn TaskLog>], tasks: usize) {
    let first = Arc::clone(logs.first().expect("at least one log handle"));
    let tasks: Vec<_> = (0..tasks).map(|_| sample::task("stress.order")).collect();
    create_all(&*first, &tasks).await;
    let mut writes = Vec::new();
    for (i, task) in tasks.iter().enumerate() {
        let path = [
            TaskState::Scheduled,
            TaskState::Queued,
            TaskState::InProgress,
            FINALS[i % FINALS.len()],
        ];
        for state in path.into_iter().rev() {
            writes.push(StateChange::new(task.id, state).worker(format!("w{i}")));
        }
    }
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (log, done) = (Arc::clone(&first), Arc::clone(&done));
        let ids: Vec<_> = tasks.iter().map(|t| t.id).collect();
        tokio::spawn(async move {
            let mut seen: HashMap<_, u8> = HashMap::new();
            let mut polls = 0;
            while polls == 0 || !done.load(Ordering::Acquire) {
                polls += 1;
                for id in &ids {
                    let task = log.get(*id).await.expect("get").expect("exists");
                    let before = seen.insert(*id, task.status.rank()).unwrap_or(0);
                    assert!(
                        task.status.rank() >= before,
                        "{id} went backwards to {}",
                        task.status
                    );
                }
            }
            polls
        })
    };
    let mut writers = tokio::task::JoinSet::new();
    for (w, log) in logs.iter().enumerate() {
        let log = Arc::clone(log);
        let mine: Vec<_> = writes.iter().skip(w).step_by(logs.len()).cloned().collect();
        writers.spawn(async move {
            let results = futures::future::join_all(mine.iter().map(|c| log.record(c))).await;
            for result in results {
                result.expect("record");
            }
        });
    }
    while let Some(joined) = writers.join_next().await {
        joined.expect("a writer panicked");
    }
    done.store(true, Ordering::Release);
    assert!(watcher.await.expect("the watcher panicked") > 0);
    for (i, task) in tasks.iter().enumerate() {
        let stored = must_get(&*first, task).await;
        assert_eq!(stored.status, FINALS[i % FINALS.len()], "task {i}");
        let history = first.history(task.id).await.expect("history");
        let ranks: Vec<u8> = history.iter().map(|c| c.state.rank()).collect();
        assert!(
            ranks.windows(2).all(|w| w[0] < w[1]),
            "history {ranks:?} only advances"
        );
        assert_eq!(history.last().map(|c| c.state), Some(stored.status));
    }
}

/// `tasks` tasks go through queued, in_progress and success, written by `writers` concurrent
/// writers that read each task back after every write, while `fault` runs after every
/// `fault_every` writes (killing the log's connections, say) and returns how many it cut.
/// Every write succeeds — applied, or unchanged when a retry finds its lost commit applied —
/// no task is ever seen going backwards, and every history holds each change exactly once.
/// Returns how many connections the faults cut, for the caller to check.
pub async fn lifecycles_survive_faults(
    log: Arc<dyn TaskLog>,
    tasks: usize,
    writers: usize,
    fault_every: usize,
    mut fault: impl AsyncFnMut() -> usize,
) -> usize {
    let tasks: Vec<_> = (0..tasks).map(|_| sample::task("stress.faults")).collect();
    create_all(&*log, &tasks).await;
    let done = AtomicBool::new(false);
    let progress = Arc::new(AtomicUsize::new(0));
    let faults = async {
        let mut next = fault_every;
        let mut cut = 0;
        while !done.load(Ordering::Acquire) {
            if progress.load(Ordering::Acquire) >= next {
                next += fault_every;
                cut += fault().await;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        cut
    };
    let writing = async {
        let mut set = tokio::task::JoinSet::new();
        for chunk in tasks.chunks(tasks.len().div_ceil(writers.max(1)).max(1)) {
            let (log, chunk, progress) = (Arc::clone(&log), chunk.to_vec(), Arc::clone(&progress));
            set.spawn(async move {
                let mut seen: HashMap<_, u8> = HashMap::new();
                for task in &chunk {
                    for state in LIFECYCLE {
                        let outcome = log
                            .record(&StateChange::new(task.id, state))
                            .await
                            .unwrap_or_else(|e| panic!("record {state} of {}: {e}", task.id));
                        // A retry of a write whose answer was lost finds it already applied.
                        assert!(
                            matches!(outcome, RecordOutcome::Applied | RecordOutcome::Unchanged),
                            "{outcome:?}"
                        );
                        let stored = must_get(&*log, task).await;
                        let before = seen.insert(task.id, stored.status.rank()).unwrap_or(0);
                        assert!(stored.status.rank() >= before, "went backwards");
                        assert_eq!(stored.status, state);
                        progress.fetch_add(1, Ordering::AcqRel);
                    }
                }
            });
        }
        while let Some(joined) = set.join_next().await {
            joined.expect("a writer panicked");
        }
        done.store(true, Ordering::Release);
    };
    let ((), cut) = tokio::join!(writing, faults);
    for task in &tasks {
        assert_eq!(must_get(&*log, task).await.status, TaskState::Success);
        assert_eq!(
            crate::history_states(&*log, task.id).await,
            [
                TaskState::Initiated,
                TaskState::Queued,
                TaskState::InProgress,
                TaskState::Success
            ],
            "each change recorded exactly once"
        );
    }
    cut
}
