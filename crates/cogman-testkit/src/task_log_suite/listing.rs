//! Behaviours of `list`: each filter field on its own, and cursor paging newest first without
//! gaps or duplicates; and of `oldest`, the same tasks the other way round.

use std::collections::HashSet;

use chrono::TimeDelta;
use cogman_core::{
    Cursor, Page, PageRequest, StateChange, Task, TaskFilter, TaskId, TaskLog, TaskState,
};

use super::create_all;
use crate::sample;
use crate::{LogFactory, LogFixture as _};

/// Ids of a listing, in order.
fn ids(page: &Page) -> Vec<TaskId> {
    page.items.iter().map(|t| t.id).collect()
}

/// Ids of `tasks` that pass `filter`, newest (largest id) first.
fn expected(tasks: &[Task], filter: &TaskFilter) -> Vec<TaskId> {
    let mut ids: Vec<_> = tasks
        .iter()
        .filter(|t| filter.matches(t))
        .map(|t| t.id)
        .collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids
}

/// One page of up to 1000 tasks (enough for every filter test).
async fn list_all(log: &dyn TaskLog, filter: &TaskFilter) -> Vec<TaskId> {
    let page = log
        .list(filter, PageRequest::first(PageRequest::MAX_LIMIT))
        .await
        .unwrap_or_else(|err| panic!("list {filter:?}: {err}"));
    assert_eq!(
        page.next, None,
        "a listing that fits one page has no next cursor"
    );
    ids(&page)
}

/// `statuses` keeps tasks in any of the given states; an empty filter keeps everything.
pub async fn list_filters_by_status(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let states = [
        TaskState::Initiated,
        TaskState::Queued,
        TaskState::InProgress,
        TaskState::Success,
        TaskState::Failed,
    ];
    let mut tasks = Vec::new();
    for i in 0..15 {
        let mut task = sample::task("conformance.list.status");
        task.status = states[i % states.len()];
        tasks.push(task);
    }
    create_all(&*log, &tasks).await;
    // One task reaches its state through `record`, so filters see recorded states too.
    let moved = &mut tasks[0];
    log.record(&StateChange::new(moved.id, TaskState::Cancelled))
        .await
        .expect("record cancelled");
    moved.status = TaskState::Cancelled;

    for statuses in [
        vec![TaskState::Queued],
        vec![TaskState::Success, TaskState::Failed],
        vec![
            TaskState::Cancelled,
            TaskState::Initiated,
            TaskState::InProgress,
        ],
        vec![TaskState::Retry],
        vec![],
    ] {
        let filter = TaskFilter {
            statuses: statuses.clone(),
            ..TaskFilter::default()
        };
        assert_eq!(
            list_all(&*log, &filter).await,
            expected(&tasks, &filter),
            "statuses {statuses:?}"
        );
    }
}

/// `name`, `primary_key` and `original_task_id` each keep exact matches only.
pub async fn list_filters_by_name_key_and_original(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let mut tasks = Vec::new();
    for i in 0..12 {
        let mut task = sample::task(["conformance.a", "conformance.b", "conformance.a.b"][i % 3]);
        task.primary_key = (i % 4 != 0).then(|| format!("key-{}", i % 2));
        tasks.push(task);
    }
    let root = tasks[1].clone();
    let retry1 = root.next_attempt(root.created_at, sample::now_ms());
    let retry2 = retry1.next_attempt(root.created_at, sample::now_ms());
    tasks.extend([retry1, retry2]);
    create_all(&*log, &tasks).await;

    let filters = [
        TaskFilter {
            name: Some("conformance.a".into()),
            ..TaskFilter::default()
        },
        TaskFilter {
            name: Some("conformance.missing".into()),
            ..TaskFilter::default()
        },
        TaskFilter {
            primary_key: Some("key-1".into()),
            ..TaskFilter::default()
        },
        TaskFilter {
            original_task_id: Some(root.id),
            ..TaskFilter::default()
        },
        TaskFilter {
            name: Some("conformance.b".into()),
            primary_key: Some("key-1".into()),
            ..TaskFilter::default()
        },
    ];
    for filter in filters {
        let want = expected(&tasks, &filter);
        assert_eq!(list_all(&*log, &filter).await, want, "filter {filter:?}");
    }
    let attempts = TaskFilter {
        original_task_id: Some(root.id),
        ..TaskFilter::default()
    };
    assert_eq!(
        list_all(&*log, &attempts).await.len(),
        3,
        "the root and its two retries"
    );
}

/// `created_from` is inclusive and `created_to` exclusive.
pub async fn list_filters_by_creation_time(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let base = sample::now_ms() - TimeDelta::hours(10);
    let tasks: Vec<_> = (0..10)
        .map(|i| sample::task_created_at("conformance.time", base + TimeDelta::hours(i)))
        .collect();
    create_all(&*log, &tasks).await;

    let at = |h: i64| base + TimeDelta::hours(h);
    for (from, to) in [
        (Some(at(2)), None),
        (None, Some(at(3))),
        (Some(at(3)), Some(at(6))),
        (Some(at(4)), Some(at(4))),
        (Some(at(20)), None),
    ] {
        let filter = TaskFilter {
            created_from: from,
            created_to: to,
            ..TaskFilter::default()
        };
        assert_eq!(
            list_all(&*log, &filter).await,
            expected(&tasks, &filter),
            "created in [{from:?}, {to:?})"
        );
    }
}

/// 120 tasks read 50 at a time: newest first, no gaps, no duplicates, and the last page has
/// no next cursor. Paging also works under a filter.
pub async fn list_pages_newest_first_without_gaps(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let mut tasks: Vec<_> = (0..120).map(|_| sample::task("conformance.page")).collect();
    for (i, task) in tasks.iter_mut().enumerate() {
        if i % 3 == 0 {
            task.status = TaskState::Queued;
        }
    }
    create_all(&*log, &tasks).await;

    let everything = TaskFilter::default();
    let (seen, pages) = read_pages(&*log, &everything, 50).await;
    assert_eq!(
        seen,
        expected(&tasks, &everything),
        "all tasks, newest first"
    );
    assert_eq!(pages, vec![50, 50, 20], "page sizes");

    let queued = TaskFilter {
        statuses: vec![TaskState::Queued],
        ..TaskFilter::default()
    };
    let (seen, _) = read_pages(&*log, &queued, 7).await;
    assert_eq!(seen, expected(&tasks, &queued), "queued tasks, 7 per page");
}

/// `oldest` returns at most `limit` tasks passing the filter, oldest first, whatever order
/// they were stored in; with a limit larger than the log, every task.
pub async fn oldest_returns_the_oldest_matching_tasks_first(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let base = sample::now_ms() - TimeDelta::hours(5);
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let mut task =
                sample::task_created_at("conformance.oldest", base + TimeDelta::minutes(i));
            task.status = if i % 3 == 0 {
                TaskState::Queued
            } else {
                TaskState::Success
            };
            task
        })
        .collect();
    // Stored newest first: the answer follows creation, not insertion.
    let newest_first: Vec<_> = tasks.iter().rev().cloned().collect();
    create_all(&*log, &newest_first).await;
    let oldest = |filter: TaskFilter, limit: u32| {
        let log = std::sync::Arc::clone(&log);
        async move {
            log.oldest(&filter, limit)
                .await
                .unwrap_or_else(|err| panic!("oldest {filter:?}: {err}"))
                .iter()
                .map(|t| t.id)
                .collect::<Vec<_>>()
        }
    };
    let waiting = TaskFilter {
        statuses: vec![TaskState::Queued, TaskState::Initiated],
        ..TaskFilter::default()
    };
    assert_eq!(
        oldest(waiting, 2).await,
        vec![tasks[0].id, tasks[3].id],
        "the two oldest waiting tasks"
    );
    assert_eq!(
        oldest(TaskFilter::default(), 1000).await,
        tasks.iter().map(|t| t.id).collect::<Vec<_>>(),
        "every task, oldest first"
    );
}

/// Follows cursors to the end; returns the ids seen and each page's size.
async fn read_pages(
    log: &dyn TaskLog,
    filter: &TaskFilter,
    limit: u32,
) -> (Vec<TaskId>, Vec<usize>) {
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut after: Option<Cursor> = None;
    let mut distinct = HashSet::new();
    for _ in 0..1000 {
        let page = log
            .list(filter, PageRequest { limit, after })
            .await
            .unwrap_or_else(|err| panic!("list page after {after:?}: {err}"));
        assert!(
            page.items.len() <= limit as usize,
            "a page holds at most `limit` tasks"
        );
        for id in ids(&page) {
            assert!(distinct.insert(id), "task {id} listed twice");
            seen.push(id);
        }
        if !page.items.is_empty() {
            sizes.push(page.items.len());
        }
        match page.next {
            Some(next) => after = Some(next),
            None => return (seen, sizes),
        }
    }
    panic!("paging did not end after 1000 pages");
}

/// Filters no stored task could match — a name or primary key with a control character (NUL
/// among them, which PostgreSQL cannot even search for) or a reversed time range — are refused
/// with [`TaskLogError::InvalidQuery`](cogman_core::TaskLogError::InvalidQuery) by `list` and
/// `oldest` alike, on every log.
pub async fn list_refuses_filters_no_task_can_match(factory: impl LogFactory) {
    let fixture = factory.make().await;
    let log = fixture.log();
    let now = chrono::Utc::now();
    let refused = [
        TaskFilter {
            name: Some("a\0b".into()),
            ..TaskFilter::default()
        },
        TaskFilter {
            primary_key: Some("\u{1b}[2J".into()),
            ..TaskFilter::default()
        },
        TaskFilter {
            created_from: Some(now),
            created_to: Some(now - TimeDelta::seconds(1)),
            ..TaskFilter::default()
        },
    ];
    for filter in &refused {
        let listed = log.list(filter, PageRequest::first(10)).await;
        assert!(
            matches!(listed, Err(cogman_core::TaskLogError::InvalidQuery(_))),
            "list {filter:?}: {listed:?}"
        );
        let oldest = log.oldest(filter, 10).await;
        assert!(
            matches!(oldest, Err(cogman_core::TaskLogError::InvalidQuery(_))),
            "oldest {filter:?}: {oldest:?}"
        );
    }
    let equal_bounds = TaskFilter {
        created_from: Some(now),
        created_to: Some(now),
        ..TaskFilter::default()
    };
    assert_eq!(list_all(&*log, &equal_bounds).await, Vec::<TaskId>::new());
}
