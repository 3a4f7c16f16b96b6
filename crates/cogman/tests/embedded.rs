//! End-to-end tests of client + worker on the embedded SQLite backend: priorities, delays,
//! retries, dispositions, panics, timeouts, cancellation, graceful stop and bad input.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cogman::{
    Config, Error, PageRequest, Priority, TaskError, TaskFilter, TaskId, TaskSpec, TaskState,
    handler_fn,
};
use cogman_testkit::{wait_for_state, wait_until};

use support::{
    WAIT, assert_failed_with, attempts_of, config, ended, oldest_first, start, start_with,
    wait_last_final,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_of_both_priorities_and_delays_run() {
    let (_dir, cogman) = start().await;
    cogman
        .register(
            "echo",
            handler_fn(|_ctx, payload: Vec<u8>| async move { Ok::<_, TaskError>(payload) }),
        )
        .expect("register");
    let mut ids = Vec::new();
    for i in 0..20u32 {
        let priority = if i.is_multiple_of(2) {
            Priority::High
        } else {
            Priority::Low
        };
        let spec = TaskSpec::new("echo", i.to_string().into_bytes()).priority(priority);
        ids.push((cogman.send_task(spec, None).await.expect("send").id, None));
    }
    for i in 0..3u32 {
        let spec = TaskSpec::new("echo", b"later".to_vec())
            .delay(Duration::from_millis(300 + 100 * u64::from(i)));
        let receipt = cogman.send_task(spec, None).await.expect("send delayed");
        assert_eq!(receipt.status, cogman::SendStatus::Scheduled);
        ids.push((receipt.id, Some(())));
    }
    for (id, delayed) in ids {
        let task = ended(cogman.client(), id).await;
        assert_eq!(task.status, TaskState::Success, "{task:?}");
        assert_eq!(task.result.as_deref(), Some(task.payload.as_slice()));
        if delayed.is_some() {
            let run_at = task.run_at.expect("delayed task keeps its run time");
            assert!(task.updated_at >= run_at, "ran before its time: {task:?}");
        }
    }
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_task_is_retried_exactly_its_budget_then_fails() {
    let (_dir, cogman) = start().await;
    let calls = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&calls);
    cogman
        .register(
            "always.fails",
            handler_fn(move |_ctx, _payload| {
                counter.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>(TaskError::retry("disk is full")) }
            }),
        )
        .expect("register");
    let root = cogman
        .send_task(
            TaskSpec::new("always.fails", b"x".to_vec())
                .retry(3)
                .primary_key("trace-1"),
            None,
        )
        .await
        .expect("send")
        .id;
    let last = wait_last_final(cogman.client(), &attempts_of(root)).await;
    let chain = oldest_first(cogman.client(), &attempts_of(root)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 4, "1 run + 3 retries");
    assert_eq!(chain.len(), 4);
    for (n, attempt) in chain.iter().enumerate() {
        assert_eq!(attempt.attempt as usize, n);
        assert_eq!(attempt.original_task_id, root);
        assert_eq!(attempt.primary_key.as_deref(), Some("trace-1"));
        assert!(
            attempt
                .fail_error
                .as_deref()
                .is_some_and(|e| e.contains("disk is full")),
            "{attempt:?}"
        );
    }
    assert!(chain[..3].iter().all(|t| t.status == TaskState::Retry));
    assert_eq!(last.status, TaskState::Failed);
    assert_eq!(last.retry, 0);
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_error_decides_what_happens_next() {
    let (_dir, cogman) = start().await;
    cogman
        .register(
            "decides",
            handler_fn(|ctx, payload: Vec<u8>| async move {
                match (payload.as_slice(), ctx.attempt) {
                    (b"fail", _) => Err(TaskError::fail("bad input, do not retry")),
                    (b"cancel", _) => Err(TaskError::cancel("nothing to do")),
                    (b"later", 0) => Err(TaskError::retry_after(
                        "rate limited",
                        Duration::from_millis(400),
                    )),
                    _ => Ok(()),
                }
            }),
        )
        .expect("register");
    let send = |payload: &'static str| {
        let cogman = cogman.clone();
        async move {
            cogman
                .send_task(
                    TaskSpec::new("decides", payload.as_bytes().to_vec()).retry(3),
                    None,
                )
                .await
                .expect("send")
                .id
        }
    };
    let failed = send("fail").await;
    let cancelled = send("cancel").await;
    let later = send("later").await;
    assert_eq!(
        wait_last_final(cogman.client(), &attempts_of(failed))
            .await
            .status,
        TaskState::Failed
    );
    assert_eq!(
        oldest_first(cogman.client(), &attempts_of(failed))
            .await
            .len(),
        1,
        "a permanent failure is not retried"
    );
    assert_eq!(
        wait_last_final(cogman.client(), &attempts_of(cancelled))
            .await
            .status,
        TaskState::Cancelled
    );
    let last = wait_last_final(cogman.client(), &attempts_of(later)).await;
    assert_eq!(last.status, TaskState::Success);
    let chain = oldest_first(cogman.client(), &attempts_of(later)).await;
    let first_end = chain[0].updated_at;
    let second_run_at = chain[1].run_at.expect("retry has a run time");
    assert!(
        second_run_at - first_end >= chrono::Duration::milliseconds(350),
        "retry_after was honoured"
    );
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_is_recorded_and_the_worker_lives_on() {
    let (_dir, cogman) = start().await;
    cogman
        .register(
            "maybe.panics",
            handler_fn(|_ctx, payload: Vec<u8>| async move {
                if payload == b"boom" {
                    panic!("boom happened");
                }
                Ok::<_, TaskError>(())
            }),
        )
        .expect("register");
    let bad = cogman
        .send_task(TaskSpec::new("maybe.panics", b"boom".to_vec()), None)
        .await
        .expect("send")
        .id;
    let good = cogman
        .send_task(TaskSpec::new("maybe.panics", b"fine".to_vec()), None)
        .await
        .expect("send")
        .id;
    assert_failed_with(&ended(cogman.client(), bad).await, "boom happened");
    assert_eq!(
        ended(cogman.client(), good).await.status,
        TaskState::Success
    );
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_past_its_timeout_is_stopped_and_failed() {
    let (_dir, cogman) = start().await;
    cogman
        .register(
            "slow",
            handler_fn(|_ctx, _payload| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                Ok::<_, TaskError>(())
            }),
        )
        .expect("register");
    let id = cogman
        .send_task(
            TaskSpec::new("slow", Vec::new()).timeout(Duration::from_millis(200)),
            None,
        )
        .await
        .expect("send")
        .id;
    assert_failed_with(&ended(cogman.client(), id).await, "timed out");
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_handler_finishes_its_cleanup_before_the_outcome_is_recorded() {
    let (_dir, cogman) = start().await;
    let cleaned = Arc::new(AtomicU32::new(0));
    let flag = Arc::clone(&cleaned);
    cogman
        .register(
            "cleans.up",
            handler_fn(move |ctx: cogman::TaskContext, _payload| {
                let flag = Arc::clone(&flag);
                async move {
                    ctx.cancelled().await;
                    // Cleanup that takes a while, well within the kill grace period.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    flag.store(1, Ordering::SeqCst);
                    Ok::<_, TaskError>(())
                }
            }),
        )
        .expect("register");
    let id = cogman
        .send_task(
            TaskSpec::new("cleans.up", Vec::new()).timeout(Duration::from_millis(100)),
            None,
        )
        .await
        .expect("send")
        .id;
    assert_failed_with(&ended(cogman.client(), id).await, "timed out");
    assert_eq!(
        cleaned.load(Ordering::SeqCst),
        1,
        "the handler's cleanup ran before its outcome was recorded"
    );
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_over_the_limit_fails_the_attempt() {
    let dir = tempfile::tempdir().expect("temp dir");
    let small_results = Config {
        max_result_bytes: 10,
        ..config(&dir)
    };
    let cogman = start_with(&small_results).await;
    cogman
        .register(
            "echo",
            handler_fn(|_ctx, payload: Vec<u8>| async move { Ok::<_, TaskError>(payload) }),
        )
        .expect("register");
    let fits = cogman
        .send_task(TaskSpec::new("echo", vec![b'x'; 10]), None)
        .await
        .expect("send")
        .id;
    let too_big = cogman
        .send_task(TaskSpec::new("echo", vec![b'x'; 11]).retry(2), None)
        .await
        .expect("send")
        .id;
    assert_eq!(
        ended(cogman.client(), fits).await.status,
        TaskState::Success
    );
    let failed = ended(cogman.client(), too_big).await;
    assert_failed_with(
        &failed,
        "result is 11 bytes; the limit is 10 bytes (max_result_bytes)",
    );
    assert_eq!(failed.result, None, "nothing stored: {failed:?}");
    assert_eq!(failed.attempt, 0, "not retried: {failed:?}");
    cogman.stop().await;
}

/// A task whose name no worker handles is handed back (not failed at once) and fails only
/// after `handler_wait`, with an error naming its name and queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_task_name_waits_for_a_handler_then_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cogman = start_with(&Config {
        handler_wait: Duration::from_secs(2),
        ..config(&dir)
    })
    .await;
    let sent = std::time::Instant::now();
    let id = cogman
        .client()
        .send_task(TaskSpec::new("nobody.handles.this", Vec::new()))
        .await
        .expect("send")
        .id;
    let failed = ended(cogman.client(), id).await;
    assert!(
        sent.elapsed() >= Duration::from_secs(2),
        "waited handler_wait"
    );
    assert_failed_with(
        &failed,
        "no worker has a handler for \"nobody.handles.this\" on queue \"default\" (waited 2s)",
    );
    assert_eq!(failed.attempt, 0, "not retried: {failed:?}");
    assert!(cogman.worker().stats().deferred >= 1, "handed back first");
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cogman = start_with(&Config {
        max_payload_bytes: 16,
        ..config(&dir)
    })
    .await;
    cogman
        .register(
            "ok",
            handler_fn(|_ctx, _p| async { Ok::<_, TaskError>(()) }),
        )
        .expect("register");
    let client = cogman.client();
    assert!(matches!(
        client.send_task(TaskSpec::new("", Vec::new())).await,
        Err(Error::Validation(_))
    ));
    assert!(matches!(
        client.send_task(TaskSpec::new("ok", vec![0; 17])).await,
        Err(Error::Validation(_))
    ));
    assert!(matches!(
        client
            .send_task(TaskSpec::new("bad\u{7}name", Vec::new()))
            .await,
        Err(Error::Validation(_))
    ));
    assert!(matches!(
        cogman
            .send_task(TaskSpec::new("unregistered", Vec::new()), None)
            .await,
        Err(Error::UnknownTask(_))
    ));
    let page = client
        .log()
        .list(&TaskFilter::default(), PageRequest::first(10))
        .await
        .expect("list");
    assert!(
        page.items.is_empty(),
        "nothing was written: {:?}",
        page.items
    );
    let bad_config = cogman::start_background(Config {
        concurrency: 0,
        ..config(&dir)
    })
    .await;
    assert!(matches!(bad_config, Err(Error::Config(e)) if e.field == "concurrency"));
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_task_and_register_follow_the_seed() {
    let (_dir, cogman) = start().await;
    let handler = || -> Arc<dyn cogman::Handler> {
        Arc::new(handler_fn(|_ctx, _p| async { Ok::<_, TaskError>("done") }))
    };
    let id = cogman
        .send_task(TaskSpec::new("seed.task", Vec::new()), Some(handler()))
        .await
        .expect("registers and sends")
        .id;
    assert!(matches!(
        cogman.send_task(TaskSpec::new("seed.task", Vec::new()), Some(handler())).await,
        Err(Error::DuplicateHandler(name)) if name == "seed.task"
    ));
    let again = cogman
        .send_task(TaskSpec::new("seed.task", Vec::new()), None)
        .await
        .expect("registered name")
        .id;
    for id in [id, again] {
        let task = ended(cogman.client(), id).await;
        assert_eq!(task.status, TaskState::Success);
        assert_eq!(task.result.as_deref(), Some(b"done".as_slice()));
    }
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_queued_and_running_tasks() {
    let (_dir, cogman) = start().await;
    let ran: Arc<std::sync::Mutex<Vec<Vec<u8>>>> = Arc::default();
    let seen = Arc::clone(&ran);
    cogman
        .register(
            "waits",
            handler_fn(move |ctx, payload: Vec<u8>| {
                seen.lock().expect("not poisoned").push(payload.clone());
                async move {
                    if payload == b"block" {
                        ctx.cancelled().await;
                    }
                    Ok::<_, TaskError>(())
                }
            }),
        )
        .expect("register");
    let client = cogman.client();
    // Cancel a scheduled task before its run time. On a machine too loaded to cancel within
    // the delay, the attempt proves nothing, so try again with a new task.
    let delay = Duration::from_millis(500);
    let mut scheduled = None;
    for attempt in 0..5 {
        let sent = std::time::Instant::now();
        let payload = format!("scheduled-{attempt}").into_bytes();
        let id = client
            .send_task(TaskSpec::new("waits", payload.clone()).delay(delay))
            .await
            .expect("send")
            .id;
        client.cancel(id).await.expect("cancel a scheduled task");
        if sent.elapsed() < delay {
            scheduled = Some((id, payload));
            break;
        }
    }
    let (scheduled, scheduled_payload) = scheduled.expect("a cancel landed before the run time");
    let running = client
        .send_task(TaskSpec::new("waits", b"block".to_vec()))
        .await
        .expect("send")
        .id;
    wait_for_state(client.log().as_ref(), running, TaskState::InProgress, WAIT)
        .await
        .expect("starts");
    client.cancel(running).await.expect("cancel a running task");
    // A marker due after the cancelled task's run time: once it ran, the cancelled one had
    // its chance to run.
    let marker = client
        .send_task(TaskSpec::new("waits", b"m".to_vec()).delay(delay + delay / 2))
        .await
        .expect("send")
        .id;
    assert_eq!(ended(client, marker).await.status, TaskState::Success);
    assert_eq!(ended(client, running).await.status, TaskState::Cancelled);
    assert_eq!(
        client.get(scheduled).await.expect("get").map(|t| t.status),
        Some(TaskState::Cancelled)
    );
    let ran = ran.lock().expect("not poisoned").clone();
    assert!(
        !ran.contains(&scheduled_payload),
        "the cancelled scheduled task never ran: {ran:?}"
    );
    assert_eq!(
        ran.iter().filter(|p| p.as_slice() == b"block").count(),
        1,
        "the running task ran once"
    );
    assert!(matches!(
        client.cancel(marker).await,
        Err(Error::InvalidState { .. })
    ));
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_finishes_or_puts_back_every_task() {
    let dir = tempfile::tempdir().expect("temp dir");
    let short_grace = Config {
        shutdown_grace: Duration::from_millis(300),
        concurrency: 2,
        ..config(&dir)
    };
    let first = start_with(&short_grace).await;
    let slow = handler_fn(|_ctx, _p| async {
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok::<_, TaskError>(())
    });
    first.register("job", slow).expect("register");
    let mut ids = Vec::new();
    for i in 0..6u32 {
        ids.push(
            first
                .client()
                .send_task(TaskSpec::new("job", i.to_string().into_bytes()))
                .await
                .expect("send")
                .id,
        );
    }
    let log = Arc::clone(first.client().log());
    wait_until("two tasks to start", WAIT, || {
        let log = Arc::clone(&log);
        async move {
            let running = TaskFilter {
                statuses: vec![TaskState::InProgress],
                ..TaskFilter::default()
            };
            log.list(&running, PageRequest::first(10))
                .await
                .map(|p| p.items.len() == 2)
                .unwrap_or(false)
        }
    })
    .await
    .expect("tasks start");
    first.stop().await; // the two running tasks exceed the grace period: interrupted and put back
    let second = start_with(&short_grace).await;
    second
        .register(
            "job",
            handler_fn(|_ctx, _p| async { Ok::<_, TaskError>(()) }),
        )
        .expect("register");
    for id in ids {
        let task = ended(second.client(), id).await;
        assert_eq!(task.status, TaskState::Success, "{task:?}");
    }
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_can_be_registered_after_start_and_retry_reruns_a_task() {
    let (_dir, cogman) = start().await;
    cogman
        .register(
            "late",
            handler_fn(|_ctx, _p| async { Err::<(), _>(TaskError::fail("first run fails")) }),
        )
        .expect("register");
    let id = cogman
        .send_task(TaskSpec::new("late", Vec::new()), None)
        .await
        .expect("send")
        .id;
    let first = ended(cogman.client(), id).await;
    assert_eq!(first.status, TaskState::Failed);
    let again = cogman
        .client()
        .retry(id, 1)
        .await
        .expect("retry a failed task");
    let rerun = ended(cogman.client(), again.id).await;
    assert_eq!((rerun.original_task_id, rerun.attempt), (id, 1));
    assert_eq!(
        rerun.status,
        TaskState::Failed,
        "a permanent failure does not use the retry budget"
    );
    assert_eq!(rerun.retry, 1);
    assert!(matches!(
        cogman.client().retry(TaskId::new(), 0).await,
        Err(Error::NotFound(_))
    ));
    cogman.stop().await;
}

/// A worker from `Worker::connect` owns its client and closes it on `stop` (otherwise the
/// client's relay kept the backends' connections open after the worker was dropped); a worker
/// given a client leaves it to its owner.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_closes_the_workers_own_client_and_not_a_shared_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = config(&dir);
    let own = cogman::Worker::connect(&config)
        .await
        .expect("worker connects");
    own.start().await.expect("starts");
    assert!(!own.client().is_closed());
    own.stop().await;
    assert!(own.client().is_closed(), "its own client is closed");

    let shared = cogman::Client::connect(&config)
        .await
        .expect("client connects");
    let given = cogman::Worker::new(
        Arc::clone(shared.broker()),
        Arc::clone(shared.log()),
        shared.clone(),
        cogman::WorkerOptions::default(),
    );
    given.start().await.expect("starts");
    given.stop().await;
    assert!(!shared.is_closed(), "a shared client stays open");
    let receipt = shared
        .send_task(TaskSpec::new("after.stop", Vec::new()))
        .await
        .expect("the shared client still sends");
    assert!(shared.get(receipt.id).await.expect("get").is_some());
    shared.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_attempt_id_shows_the_chain_outcome() {
    let (_dir, cogman) = start().await;
    support::attempts::any_attempt_id_shows_the_chain_outcome(&cogman).await;
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_the_first_id_cancels_the_waiting_retry() {
    let (_dir, cogman) = start().await;
    support::attempts::cancelling_the_first_id_cancels_the_waiting_retry(&cogman).await;
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_cancelled_while_running_is_not_retried() {
    let (_dir, cogman) = start().await;
    support::attempts::a_task_cancelled_while_running_is_not_retried(&cogman).await;
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_retry_waits_for_the_running_attempt() {
    let (_dir, cogman) = start().await;
    support::attempts::a_manual_retry_waits_for_the_running_attempt(&cogman).await;
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_task_is_failed_listed_requeued_and_purged() {
    use support::dead_letters::{
        POISON, a_poison_task_is_failed_listed_requeued_and_purged, counting,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let config = cogman::Config {
        max_deliveries: 2,
        ..support::config(&dir)
    };
    let client = cogman::Client::connect(&config).await.expect("client");
    let worker = a_poison_task_is_failed_listed_requeued_and_purged(&client, |runs| {
        let config = config.clone();
        async move {
            let worker = cogman::Worker::connect(&config).await.expect("worker");
            worker.register(POISON, counting(runs)).expect("register");
            worker.start().await.expect("start");
            worker
        }
    })
    .await;
    assert_eq!(
        client.purge_dead_letters().await.expect("purge"),
        0,
        "nothing left"
    );
    worker.stop().await;
    client.close().await;
}

/// The embedded queue in `dir` with the task log on the shared PostgreSQL and/or Redis (a
/// schema and namespace of its own, dropped with the returned cleanup), `max_deliveries` 2.
fn embedded_queue_with_log(
    dir: &tempfile::TempDir,
    redis: bool,
    postgres: bool,
) -> (Config, cogman_testkit::servers::SharedCleanup) {
    const REDIS: &str = "redis://127.0.0.1:6379";
    const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
    let id = TaskId::new().as_uuid().simple().to_string();
    let name = format!("e_dl_{}", &id[id.len() - 12..]);
    let mut cleanup = cogman_testkit::servers::SharedCleanup::new();
    let mut config = Config {
        max_deliveries: 2,
        ..config(dir)
    };
    if redis {
        config.redis.uri = Some(REDIS.to_owned());
        config.redis.namespace.clone_from(&name);
        cleanup = cleanup.redis_namespace(REDIS, &name);
    }
    if postgres {
        config.postgres.uri = Some(POSTGRES.to_owned());
        config.postgres.schema.clone_from(&name);
        cleanup = cleanup.postgres_schema(POSTGRES, &name);
    }
    (config, cleanup)
}

/// The poison flow on the embedded queue with another task log: the dead letter the queue
/// moved into its file is handed over to the configured log (listed and failed there), and
/// deleted from the file.
async fn embedded_queue_hands_dead_letters_to(config: &Config) {
    use support::dead_letters::{
        POISON, a_poison_task_is_failed_listed_requeued_and_purged, counting,
    };
    let client = cogman::Client::connect(config).await.expect("client");
    let worker = a_poison_task_is_failed_listed_requeued_and_purged(&client, |runs| {
        let config = config.clone();
        async move {
            let worker = cogman::Worker::connect(&config).await.expect("worker");
            worker.register(POISON, counting(runs)).expect("register");
            worker.start().await.expect("start");
            worker
        }
    })
    .await;
    let file = cogman_sqlite::SqliteStore::open(cogman_sqlite::SqliteOptions::new(
        config.sqlite.path.clone(),
    ))
    .expect("open the queue's file");
    wait_until("the file to keep no dead letter", WAIT, || {
        let file = file.clone();
        async move {
            cogman::DeadLetterStore::dead_letters(&file, None, 10)
                .await
                .expect("list the file's dead letters")
                .items
                .is_empty()
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        client.purge_dead_letters().await.expect("purge"),
        0,
        "nothing left"
    );
    worker.stop().await;
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_queue_hands_dead_letters_to_a_postgres_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, _cleanup) = embedded_queue_with_log(&dir, false, true);
    embedded_queue_hands_dead_letters_to(&config).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_queue_hands_dead_letters_to_a_redis_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (config, _cleanup) = embedded_queue_with_log(&dir, true, false);
    embedded_queue_hands_dead_letters_to(&config).await;
}
