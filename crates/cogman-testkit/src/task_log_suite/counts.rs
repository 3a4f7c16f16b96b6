//! Behaviours of `counts`: per-state totals over everything, and per-bucket counts with the
//! right bucket starts (empty buckets left out, oldest first).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use cogman_core::{BucketCount, CountQuery, StateChange, StatusCounts, Task, TaskState};

use super::create_all;
use crate::sample;
use crate::{LogFactory, LogFixture as _};

/// Tasks created at `at` in `state`.
fn tasks_in(at: DateTime<Utc>, states: &[(TaskState, usize)]) -> Vec<Task> {
    let mut tasks = Vec::new();
    for &(state, n) in states {
        for _ in 0..n {
            let mut task = sample::task_created_at("conformance.counts", at);
            task.status = state;
            tasks.push(task);
        }
    }
    tasks
}

fn counts(entries: &[(TaskState, u64)]) -> StatusCounts {
    let mut counts = StatusCounts::default();
    for &(state, n) in entries {
        counts.add(state, n);
    }
    counts
}

/// `CountQuery::all()` gives one bucket with every task, per current state (including states
/// reached through `record`).
pub async fn counts_all_per_state(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let now = sample::now_ms();
    let mut tasks = tasks_in(
        now - TimeDelta::days(3),
        &[(TaskState::Success, 2), (TaskState::Queued, 1)],
    );
    tasks.extend(tasks_in(
        now,
        &[(TaskState::Initiated, 3), (TaskState::Failed, 1)],
    ));
    create_all(&*log, &tasks).await;
    log.record(&StateChange::new(tasks[2].id, TaskState::InProgress))
        .await
        .expect("record in_progress");

    let query = CountQuery::all();
    let buckets = log.counts(&query).await.expect("counts");
    let want = counts(&[
        (TaskState::Success, 2),
        (TaskState::InProgress, 1),
        (TaskState::Initiated, 3),
        (TaskState::Failed, 1),
    ]);
    assert_eq!(
        buckets.len(),
        1,
        "one bucket without a bucket width: {buckets:?}"
    );
    assert_eq!(
        buckets[0].start,
        query.bucket_start(now),
        "the bucket starts at `from`"
    );
    assert_eq!(
        nonzero(&buckets[0].counts),
        want,
        "counts per state over everything"
    );
    assert_eq!(buckets[0].counts.total(), 7);
}

/// Hour buckets over four hours: only non-empty buckets, oldest first, each with its start and
/// per-state counts; tasks outside the range are left out; a bad range is refused.
pub async fn counts_per_bucket(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let hour = TimeDelta::hours(1);
    let from = DateTime::from_timestamp((sample::now_ms().timestamp() / 3600 - 10) * 3600, 0)
        .expect("invariant: an hour in range");
    let mut tasks = tasks_in(from - hour, &[(TaskState::Success, 4)]);
    tasks.extend(tasks_in(
        from + TimeDelta::minutes(5),
        &[(TaskState::Success, 2), (TaskState::Failed, 1)],
    ));
    tasks.extend(tasks_in(from + hour * 2, &[(TaskState::Queued, 3)]));
    tasks.extend(tasks_in(
        from + hour * 3 + TimeDelta::minutes(59),
        &[(TaskState::Queued, 1), (TaskState::Cancelled, 2)],
    ));
    tasks.extend(tasks_in(from + hour * 4, &[(TaskState::Failed, 5)]));
    create_all(&*log, &tasks).await;

    let query = CountQuery {
        from,
        to: from + hour * 4,
        bucket: Some(Duration::from_secs(3600)),
    };
    let buckets = log.counts(&query).await.expect("counts per bucket");
    let got: Vec<_> = buckets
        .iter()
        .map(|b| BucketCount {
            start: b.start,
            counts: nonzero(&b.counts),
        })
        .collect();
    let want = vec![
        BucketCount {
            start: from,
            counts: counts(&[(TaskState::Success, 2), (TaskState::Failed, 1)]),
        },
        BucketCount {
            start: from + hour * 2,
            counts: counts(&[(TaskState::Queued, 3)]),
        },
        BucketCount {
            start: from + hour * 3,
            counts: counts(&[(TaskState::Queued, 1), (TaskState::Cancelled, 2)]),
        },
    ];
    assert_eq!(got, want, "hour buckets over [from, from + 4h)");

    let backwards = CountQuery {
        from: query.to,
        to: query.from,
        bucket: None,
    };
    assert!(
        log.counts(&backwards).await.is_err(),
        "a range that ends before it starts is refused"
    );
}

/// The counts without zero entries (a backend may list states with no task).
fn nonzero(counts: &StatusCounts) -> StatusCounts {
    StatusCounts(
        counts
            .0
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(s, n)| (*s, *n))
            .collect(),
    )
}
