//! `TaskLog::oldest` on SQLite reads in ascending order directly (no paging through `list`):
//! over more tasks than one page of `list` holds, it returns the oldest matching tasks, oldest
//! first, and clamps its limit like the trait's default.

mod common;

use cogman_core::{PageRequest, Task, TaskFilter, TaskState};
use cogman_testkit::{LogFixture as _, sample};

use common::fresh_store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oldest_reads_ascending_over_more_than_a_page() {
    let fixture = fresh_store();
    let log = fixture.log();
    let count = PageRequest::MAX_LIMIT as usize + 200;
    let tasks: Vec<_> = (0..count)
        .map(|i| {
            let mut task = sample::task("sqlite.oldest");
            if i % 7 == 3 {
                task.status = TaskState::Queued;
            }
            task
        })
        .collect();
    // Created newest first, many at once (the writer commits them in groups).
    let mut creating = tokio::task::JoinSet::new();
    for task in tasks.iter().rev() {
        let (log, task) = (std::sync::Arc::clone(&log), task.clone());
        creating.spawn(async move { log.create(&task).await });
    }
    while let Some(created) = creating.join_next().await {
        created.expect("a create panicked").expect("create");
    }
    let ids = |found: Vec<Task>| found.iter().map(|t| t.id).collect::<Vec<_>>();

    let all = ids(log
        .oldest(&TaskFilter::default(), PageRequest::MAX_LIMIT)
        .await
        .expect("oldest"));
    let expected: Vec<_> = tasks
        .iter()
        .take(PageRequest::MAX_LIMIT as usize)
        .map(|t| t.id)
        .collect();
    assert_eq!(all, expected, "the oldest 1000 of 1200, oldest first");

    let queued = TaskFilter {
        statuses: vec![TaskState::Queued],
        ..TaskFilter::default()
    };
    let expected: Vec<_> = tasks
        .iter()
        .filter(|t| t.status == TaskState::Queued)
        .take(3)
        .map(|t| t.id)
        .collect();
    assert_eq!(
        ids(log.oldest(&queued, 3).await.expect("oldest")),
        expected,
        "the oldest three queued tasks"
    );
    assert_eq!(
        ids(log.oldest(&queued, 0).await.expect("oldest")),
        expected[..1],
        "a limit of 0 is read as 1, as the default does"
    );
}
