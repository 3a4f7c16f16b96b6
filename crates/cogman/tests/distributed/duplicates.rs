//! Duplicates are counted, never silent: a task delivered twice (a publish retried after a
//! lost confirm does exactly this) whose two deliveries run at the same time is recorded
//! `success` once, and the worker counts the second success as a duplicate.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use cogman::{Task, TaskContext, TaskError, TaskSpec, TaskState, Worker, handler_fn};
use cogman_testkit::{wait_for_state, wait_until};

use crate::harness::{AMQP, Env, WAIT};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deliveries_of_one_task_running_at_once_count_one_duplicate() {
    let env = Env::new("duplicates", AMQP, None, None);
    let client = env.client().await;
    let worker = Worker::connect(&env.config).await.expect("worker connects");
    let started = Arc::new(AtomicUsize::new(0));
    let seen = Arc::clone(&started);
    worker
        .register(
            "dist.twice",
            handler_fn(move |_ctx: TaskContext, _payload: Vec<u8>| {
                let started = Arc::clone(&seen);
                async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    // Both deliveries run at once: wait (bounded) for the other one to start.
                    let both =
                        wait_until("both deliveries to run", Duration::from_secs(10), || {
                            let started = Arc::clone(&started);
                            async move { started.load(Ordering::SeqCst) >= 2 }
                        });
                    both.await.map_err(|e| TaskError::fail(e.to_string()))
                }
            }),
        )
        .expect("register");

    let task = Task::from_spec(TaskSpec::new("dist.twice", b"x".to_vec()), Utc::now());
    client.log().create(&task).await.expect("recorded");
    client
        .broker()
        .publish(&task)
        .await
        .expect("first delivery");
    client
        .broker()
        .publish(&task)
        .await
        .expect("second delivery of the same task");
    worker.start().await.expect("worker starts");

    wait_for_state(client.log().as_ref(), task.id, TaskState::Success, WAIT)
        .await
        .expect("the task succeeds");
    wait_until("both runs to settle", WAIT, || async {
        worker.stats().succeeded >= 2
    })
    .await
    .expect("both settle");
    assert_eq!(started.load(Ordering::SeqCst), 2, "both deliveries ran");
    assert_eq!(
        worker.stats().duplicates,
        1,
        "the second success is counted as a duplicate"
    );
    worker.stop().await;
    client.close().await;
}
