//! Concurrent writes in any order: several writers apply shuffled state changes, and every
//! task still ends in the final state among its writes.

use std::sync::Arc;

use cogman_core::{RecordOutcome, StateChange, TaskState};
use rand::SeedableRng as _;
use rand::rngs::StdRng;
use rand::seq::SliceRandom as _;

use super::{create_all, must_get};
use crate::sample;
use crate::{LogFactory, LogFixture as _};

const TASKS: usize = 50;
const WRITERS: usize = 8;
const FINALS: [TaskState; 4] = [
    TaskState::Success,
    TaskState::Failed,
    TaskState::Retry,
    TaskState::Cancelled,
];

/// 8 writers apply shuffled writes (scheduled, queued, in_progress and one final state) for
/// 50 tasks at the same time; every task ends in its final state, and the final write was the
/// one applied.
pub async fn concurrent_out_of_order_writes_end_in_the_final_state(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let tasks: Vec<_> = (0..TASKS)
        .map(|i| sample::task(&format!("conformance.concurrent.{i}")))
        .collect();
    create_all(&*log, &tasks).await;

    let mut writes = Vec::new();
    for (i, task) in tasks.iter().enumerate() {
        let last = FINALS[i % FINALS.len()];
        for state in [
            TaskState::Scheduled,
            TaskState::Queued,
            TaskState::InProgress,
            last,
        ] {
            let change = StateChange {
                at: sample::plus_ms(task.created_at, state.rank().into()),
                ..StateChange::new(task.id, state)
            };
            writes.push(if state == last {
                change.error(format!("final write of {i}"))
            } else {
                change
            });
        }
    }
    writes.shuffle(&mut StdRng::seed_from_u64(0x00C0_66A4));

    let mut writers = tokio::task::JoinSet::new();
    for w in 0..WRITERS {
        let log = Arc::clone(&log);
        let mine: Vec<_> = writes.iter().skip(w).step_by(WRITERS).cloned().collect();
        writers.spawn(async move {
            let mut finals_applied = Vec::new();
            for change in mine {
                let outcome = log
                    .record(&change)
                    .await
                    .unwrap_or_else(|err| panic!("record {change:?}: {err}"));
                if change.state.is_final() {
                    finals_applied.push((change.task_id, outcome));
                }
            }
            finals_applied
        });
    }
    let mut final_outcomes = Vec::new();
    while let Some(joined) = writers.join_next().await {
        final_outcomes.extend(joined.expect("a writer panicked"));
    }
    assert_eq!(final_outcomes.len(), TASKS);
    for (id, outcome) in final_outcomes {
        assert_eq!(outcome, RecordOutcome::Applied, "final write of {id}");
    }

    for (i, task) in tasks.iter().enumerate() {
        let stored = must_get(&*log, task).await;
        assert_eq!(
            stored.status,
            FINALS[i % FINALS.len()],
            "task {i} ({})",
            task.id
        );
        assert_eq!(
            stored.fail_error,
            Some(format!("final write of {i}")),
            "task {i} keeps the final write's error"
        );
    }
}
