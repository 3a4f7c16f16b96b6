//! Duplicates are counted, never silent: a task delivered twice (a publish retried after a
//! lost confirm does exactly this) whose two deliveries run at the same time is recorded
//! `success` once, and the worker counts the second success as a duplicate. And the outbox
//! does not publish again a task whose `queued` state only Redis holds yet.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use cogman::{Task, TaskContext, TaskError, TaskLog as _, TaskSpec, TaskState, Worker, handler_fn};
use cogman_postgres::{PostgresConfig, PostgresLog};
use cogman_redis::{RedisConfig, RedisLog};
use cogman_testkit::{wait_for_state, wait_until};

use crate::harness::{AMQP, Env, POSTGRES, REDIS, TASK, WAIT};

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

/// With Redis and PostgreSQL, a task's `queued` state reaches PostgreSQL up to the merge
/// window after Redis. If the client that sent it dies in between, PostgreSQL still says
/// `initiated`, and the outbox would publish it a second time: the relay asks the log first,
/// and writes the state Redis holds instead of publishing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_does_not_publish_again_a_task_redis_shows_queued() {
    let env = Env::new("outboxhot", AMQP, Some(REDIS), Some(POSTGRES));
    let old = Utc::now() - TimeDelta::hours(1);
    let published = Task::from_spec(TaskSpec::new(TASK, b"published".to_vec()), old);
    let unpublished = Task::from_spec(TaskSpec::new(TASK, b"unpublished".to_vec()), old);
    let durable = PostgresLog::connect(
        PostgresConfig::new(POSTGRES).schema(env.config.postgres_schema.clone()),
    )
    .await
    .expect("the durable log opens");
    let mut redis = RedisConfig::new(REDIS);
    redis.namespace.clone_from(&env.config.redis_namespace);
    let hot = RedisLog::connect(redis).await.expect("the hot log opens");
    for task in [&published, &unpublished] {
        durable.create(task).await.expect("recorded initiated");
    }
    let mut queued = published.clone();
    queued.status = TaskState::Queued;
    hot.create(&queued).await.expect("queued in Redis");
    hot.create(&unpublished).await.expect("initiated in Redis");

    // The relay runs when the client starts.
    let client = env.client().await;
    for task in [&unpublished, &published] {
        wait_for_state(&durable, task.id, TaskState::Queued, WAIT)
            .await
            .expect("the relay moves every outbox task on");
    }
    let stats = client
        .broker()
        .queue_stats_source()
        .expect("RabbitMQ reports queue numbers")
        .queue_stats()
        .await
        .expect("queue numbers");
    let ready: u64 = stats.iter().map(|queue| queue.ready).sum();
    assert_eq!(
        ready, 1,
        "only the task Redis did not show queued was published: {stats:?}"
    );
    client.close().await;
}
