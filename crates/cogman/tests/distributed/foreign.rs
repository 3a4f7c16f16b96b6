//! Tasks from a foreign producer (a message published straight to a work queue per
//! `docs/wire-format.md`, with no record in the task log): every delivery a worker settles
//! gets a record, created from the message before its outcome is written. A foreign task of a
//! name no worker handles waits for a handler in its record, then fails naming its name and
//! queue — it never vanishes.

use std::time::Duration;

use chrono::Utc;
use cogman::{Priority, Task, TaskSpec, TaskState, Worker, handler_fn};
use cogman_amqp::{AmqpConfig, Topology};
use cogman_testkit::{wait_for_state, wait_until};
use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::{Connection, ConnectionProperties};

use crate::harness::{AMQP, Env, WAIT};

/// Publishes `task` with a plain lapin channel (confirmed) to the first low-priority queue
/// of `env`, as a foreign producer would.
async fn publish_foreign(env: &Env, task: &Task) {
    let mut amqp = AmqpConfig::new(AMQP);
    amqp.queue_prefix.clone_from(&env.config.amqp.queue_prefix);
    let topology = Topology::new(&amqp).expect("valid topology");
    let queue = topology.queues(Priority::Low)[0].clone();
    let connection = Connection::connect(AMQP, ConnectionProperties::default())
        .await
        .expect("connects");
    let channel = connection.create_channel().await.expect("channel");
    channel
        .confirm_select(ConfirmSelectOptions::default())
        .await
        .expect("confirms");
    let confirm = channel
        .basic_publish(
            "".into(),
            queue,
            BasicPublishOptions::default(),
            &task.payload,
            cogman_amqp::wire::encode(task),
        )
        .await
        .expect("published")
        .await
        .expect("confirmed");
    assert!(confirm.is_ack(), "the broker took it: {confirm:?}");
    let _ = connection.close(200, "done".into()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_task_gets_a_record_and_an_unknown_name_waits_then_fails() {
    let mut env = Env::new("foreign", AMQP, None, None);
    env.config.handler_wait = Duration::from_secs(3);
    let client = env.client().await;
    let worker = Worker::connect(&env.config).await.expect("worker connects");
    worker
        .register(
            "foreign.known",
            handler_fn(|_ctx, payload: Vec<u8>| async move { Ok::<_, cogman::TaskError>(payload) }),
        )
        .expect("register");
    worker.start().await.expect("worker starts");

    let known = Task::from_spec(TaskSpec::new("foreign.known", b"hi".to_vec()), Utc::now());
    let unknown = Task::from_spec(TaskSpec::new("foreign.unknown", b"?".to_vec()), Utc::now());
    let log = client.log();
    for task in [&known, &unknown] {
        assert!(
            log.get(task.id).await.expect("read").is_none(),
            "no record yet"
        );
        publish_foreign(&env, task).await;
    }

    let ran = wait_for_state(log.as_ref(), known.id, TaskState::Success, WAIT)
        .await
        .expect("the known foreign task succeeds, with a record");
    assert_eq!(ran.result.as_deref(), Some(&b"hi"[..]));

    // The unknown one has a record while it waits, queued, before any outcome.
    wait_until("a record of the unknown foreign task", WAIT, || async {
        log.get(unknown.id).await.ok().flatten().is_some()
    })
    .await
    .expect("a record is created");
    let waiting = log.get(unknown.id).await.expect("read").expect("record");
    assert_eq!(waiting.status, TaskState::Queued, "waits for a handler");
    assert_eq!(waiting.name, "foreign.unknown");

    let failed = wait_for_state(log.as_ref(), unknown.id, TaskState::Failed, WAIT)
        .await
        .expect("fails after handler_wait");
    assert_eq!(
        failed.fail_error.as_deref(),
        Some("no worker has a handler for \"foreign.unknown\" on queue \"default\" (waited 3s)")
    );
    assert!(worker.stats().deferred >= 1, "handed back while it waited");
    worker.stop().await;
    client.close().await;
}
