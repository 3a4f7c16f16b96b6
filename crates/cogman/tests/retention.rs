//! Retention through the library, as users run it: a started worker with a short TTL and a
//! short purge interval deletes finished tasks (success, failed, cancelled) once they are
//! older than the TTL, with their history, and never an unfinished one (scheduled, running) —
//! on the embedded SQLite log and on PostgreSQL. The worker's [`cogman::Retention`] counts
//! what it purged.

mod support;

use std::sync::Arc;
use std::time::Duration;

use cogman::config::PostgresConfig;
use cogman::{Cogman, Config, TaskError, TaskId, TaskSpec, TaskState, handler_fn};
use cogman_testkit::servers::SharedCleanup;
use cogman_testkit::{wait_for_state, wait_until};
use tokio::sync::Notify;

use support::{WAIT, start_with};

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A TTL short enough for a test on either log, and a purge every 100 ms.
fn short_retention(mut config: Config) -> Config {
    config.sqlite.ttl = Duration::from_secs(1);
    config.postgres.ttl = Duration::from_secs(1);
    config.purge_interval = Duration::from_millis(100);
    config
}

/// Sends finished and unfinished tasks, waits for the finished ones to be purged, and checks
/// that the unfinished ones (and their history) are still there.
async fn finished_tasks_go_and_unfinished_ones_stay(cogman: &Cogman) {
    let release = Arc::new(Notify::new());
    cogman
        .register(
            "retention.quick",
            handler_fn(|_ctx, _payload: Vec<u8>| async { Ok::<_, TaskError>(Vec::new()) }),
        )
        .expect("register quick");
    cogman
        .register(
            "retention.fails",
            handler_fn(|_ctx, _payload: Vec<u8>| async {
                Err::<Vec<u8>, _>(TaskError::fail("on purpose"))
            }),
        )
        .expect("register fails");
    let held = Arc::clone(&release);
    cogman
        .register(
            "retention.held",
            handler_fn(move |_ctx, _payload: Vec<u8>| {
                let held = Arc::clone(&held);
                async move {
                    held.notified().await;
                    Ok::<_, TaskError>(Vec::new())
                }
            }),
        )
        .expect("register held");
    let client = cogman.client();
    let log = client.log();
    let send = |spec: TaskSpec| async move { client.send_task(spec).await.expect("send").id };

    let mut finished: Vec<TaskId> = Vec::new();
    for _ in 0..5 {
        finished.push(send(TaskSpec::new("retention.quick", Vec::new())).await);
    }
    finished.push(send(TaskSpec::new("retention.fails", Vec::new()).retry(0)).await);
    let cancelled =
        send(TaskSpec::new("retention.quick", Vec::new()).delay(Duration::from_secs(3600))).await;
    client
        .cancel(cancelled)
        .await
        .expect("cancel the delayed task");
    finished.push(cancelled);
    let scheduled =
        send(TaskSpec::new("retention.quick", Vec::new()).delay(Duration::from_secs(3600))).await;
    let running = send(TaskSpec::new("retention.held", Vec::new())).await;
    wait_for_state(log.as_ref(), running, TaskState::InProgress, WAIT)
        .await
        .expect("the held task runs");
    // Created after the unfinished tasks: once a purge has taken it, that purge's cutoff was
    // past their creation too, so they were old enough to go and stayed for being unfinished.
    finished.push(send(TaskSpec::new("retention.quick", Vec::new())).await);

    wait_until("the finished tasks to be purged", WAIT, || async {
        for id in &finished {
            if log.get(*id).await.expect("get").is_some() {
                return false;
            }
        }
        true
    })
    .await
    .expect("finished tasks older than the TTL are purged");
    for id in &finished {
        assert!(
            log.history(*id).await.expect("history").is_empty(),
            "the history of {id} is purged with it"
        );
    }
    let purged = cogman
        .worker()
        .retention()
        .expect("a worker from a config purges")
        .purged();
    assert!(purged >= 8, "the worker counts what it purged: {purged}");

    // Older than the last purge's cutoff, yet unfinished: both stay, with their history.
    for (id, state) in [
        (scheduled, TaskState::Scheduled),
        (running, TaskState::InProgress),
    ] {
        let task = log
            .get(id)
            .await
            .expect("get")
            .expect("an unfinished task stays");
        assert_eq!(task.status, state);
        assert!(task.created_at < chrono::Utc::now() - chrono::Duration::seconds(1));
        assert!(!log.history(id).await.expect("history").is_empty());
    }
    release.notify_waiters();
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_log_keeps_finished_tasks_only_for_the_ttl() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cogman = start_with(&short_retention(support::config(&dir))).await;
    finished_tasks_go_and_unfinished_ones_stay(&cogman).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_postgres_log_keeps_finished_tasks_only_for_the_ttl() {
    let dir = tempfile::tempdir().expect("temp dir");
    let id = uuid::Uuid::now_v7().simple().to_string();
    let schema = format!("retention_{}", &id[id.len() - 16..]);
    let _cleanup = SharedCleanup::new().postgres_schema(POSTGRES, &schema);
    let config = Config {
        postgres: PostgresConfig {
            schema,
            ..PostgresConfig::new(POSTGRES)
        },
        ..support::config(&dir)
    };
    let config = short_retention(config);
    let cogman = start_with(&config).await;
    finished_tasks_go_and_unfinished_ones_stay(&cogman).await;
}
