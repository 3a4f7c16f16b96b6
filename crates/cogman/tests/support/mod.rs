//! Shared by the facade's test binaries (`embedded`, `workflows`, `workflows_distributed`):
//! the embedded test config, starting cogman, reading tasks back oldest first, waiting for a
//! task or a group to end, and the handlers several tests register.

#![allow(dead_code, unreachable_pub)]

pub mod attempts;
pub mod dead_letters;

use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cogman::{
    Client, Cogman, Config, GroupStatus, PageRequest, Task, TaskError, TaskFilter, TaskId,
    TaskState, handler_fn,
};
use cogman_testkit::{wait_for_final, wait_until};

/// How long a test waits for an event.
pub const WAIT: Duration = Duration::from_secs(30);

/// The embedded backend in `dir`, with short retry backoffs, lease, shutdown and kill grace.
pub fn config(dir: &tempfile::TempDir) -> Config {
    Config {
        retry_backoff: Duration::from_millis(20),
        retry_backoff_max: Duration::from_millis(100),
        lease: Duration::from_secs(2),
        shutdown_grace: Duration::from_secs(5),
        kill_grace: Duration::from_secs(1),
        ..Config::embedded(dir.path().join("cogman.db"))
    }
}

/// Client and worker on the embedded backend in a fresh temp dir, which lives as long as the
/// returned guard.
pub async fn start() -> (tempfile::TempDir, Cogman) {
    let dir = tempfile::tempdir().expect("temp dir");
    let cogman = start_with(&config(&dir)).await;
    (dir, cogman)
}

/// Client and worker on what `config` names.
pub async fn start_with(config: &Config) -> Cogman {
    cogman::start_background(config.clone())
        .await
        .unwrap_or_else(|e| panic!("cogman starts: {e} ({e:?})"))
}

/// Every attempt of the task whose first attempt is `root`.
pub fn attempts_of(root: TaskId) -> TaskFilter {
    TaskFilter {
        original_task_id: Some(root),
        ..TaskFilter::default()
    }
}

/// Every task named `name`.
pub fn named(name: &str) -> TaskFilter {
    TaskFilter {
        name: Some(name.to_owned()),
        ..TaskFilter::default()
    }
}

/// Every task matching `filter` (up to 100), oldest first.
pub async fn oldest_first(client: &Client, filter: &TaskFilter) -> Vec<Task> {
    let mut items = client
        .log()
        .list(filter, PageRequest::first(100))
        .await
        .expect("list")
        .items;
    items.reverse();
    items
}

/// Waits until the newest task matching `filter` has ended in a state other than `retry` (the
/// end of a chain of attempts), and returns it.
pub async fn wait_last_final(client: &Client, filter: &TaskFilter) -> Task {
    let log = Arc::clone(client.log());
    wait_until(&format!("the last task of {filter:?} to end"), WAIT, || {
        let (log, filter) = (Arc::clone(&log), filter.clone());
        async move {
            log.list(&filter, PageRequest::first(1))
                .await
                .is_ok_and(|page| {
                    page.items
                        .first()
                        .is_some_and(|t| t.status.is_final() && t.status != TaskState::Retry)
                })
        }
    })
    .await
    .expect("the last task ends");
    oldest_first(client, filter)
        .await
        .pop()
        .expect("at least one task")
}

/// Waits until task `id` ends, and returns it.
pub async fn ended(client: &Client, id: TaskId) -> Task {
    wait_for_final(client.log().as_ref(), id, WAIT)
        .await
        .unwrap_or_else(|e| panic!("task {id} ends: {e}"))
}

/// Waits until every member of a group has ended, and returns the status.
pub async fn wait_group_done(client: &Client, ids: &[TaskId]) -> GroupStatus {
    wait_until("every member to end", WAIT, || {
        let client = client.clone();
        async move { client.group_status(ids).await.is_ok_and(|s| s.done) }
    })
    .await
    .expect("group ends");
    client.group_status(ids).await.expect("status")
}

/// Asserts that `task` failed with an error that mentions `text`.
pub fn assert_failed_with(task: &Task, text: &str) {
    assert_eq!(task.status, TaskState::Failed, "{task:?}");
    assert!(
        task.fail_error.as_deref().is_some_and(|e| e.contains(text)),
        "{task:?}"
    );
}

/// The payload read as a decimal number; a permanent failure when it is not one.
pub fn number<T: FromStr>(payload: &[u8]) -> Result<T, TaskError> {
    String::from_utf8_lossy(payload)
        .parse()
        .map_err(|_| TaskError::fail("bad payload"))
}

/// A handler that appends `tag` to its payload and records that it ran.
pub fn appender(tag: &'static str, ran: &Arc<Mutex<Vec<&'static str>>>) -> impl cogman::Handler {
    let ran = Arc::clone(ran);
    handler_fn(move |_ctx, mut payload: Vec<u8>| {
        ran.lock().expect("lock").push(tag);
        payload.extend_from_slice(tag.as_bytes());
        async move { Ok::<_, TaskError>(payload) }
    })
}

/// A handler that squares its number payload; the first attempt of member `fails_once`, if
/// any, fails (to be retried).
pub fn squarer(fails_once: Option<u64>) -> impl cogman::Handler {
    handler_fn(move |ctx, payload: Vec<u8>| async move {
        let i: u64 = number(&payload)?;
        if Some(i) == fails_once && ctx.attempt == 0 {
            return Err(TaskError::retry(format!("member {i} fails once")));
        }
        Ok((i * i).to_string())
    })
}

/// A handler that records every payload it receives and answers `answer`.
pub fn collector(
    payloads: &Arc<Mutex<Vec<Vec<u8>>>>,
    answer: &'static str,
) -> impl cogman::Handler {
    let seen = Arc::clone(payloads);
    handler_fn(move |_ctx, payload: Vec<u8>| {
        seen.lock().expect("lock").push(payload);
        async move { Ok::<_, TaskError>(answer) }
    })
}

/// A handler that succeeds with no result and counts its runs in `runs`.
pub fn counting(runs: &Arc<AtomicU32>) -> impl cogman::Handler {
    let runs = Arc::clone(runs);
    handler_fn(move |_ctx, _payload| {
        runs.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, TaskError>(()) }
    })
}
