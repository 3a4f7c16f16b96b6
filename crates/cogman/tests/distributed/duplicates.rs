//! Duplicates are counted, never silent, and a task published twice (a publish retried after
//! a lost confirm, a chord callback sent by two members) runs once: the copy delivered while
//! the other runs is skipped and counted. And the outbox does not publish again a task whose
//! `queued` state only Redis holds yet.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use cogman::{Task, TaskContext, TaskError, TaskLog as _, TaskSpec, TaskState, Worker, handler_fn};
use cogman_postgres::{PostgresConfig, PostgresLog};
use cogman_redis::{RedisConfig, RedisLog};
use cogman_testkit::{wait_for_state, wait_until};

use crate::harness::{AMQP, Env, POSTGRES, REDIS, TASK, WAIT};

/// Two copies of one task (a publish retried after a lost confirm, a chord callback sent by
/// two members): the copy consumed while the other runs is not run, and is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_copy_of_a_running_task_is_skipped_and_counted() {
    let env = Env::new("duplicates", AMQP, None, None);
    let client = env.client().await;
    let worker = Arc::new(Worker::connect(&env.config).await.expect("worker connects"));
    let started = Arc::new(AtomicUsize::new(0));
    let (seen, stats_of) = (Arc::clone(&started), Arc::downgrade(&worker));
    worker
        .register(
            "dist.twice",
            handler_fn(move |_ctx: TaskContext, _payload: Vec<u8>| {
                let (started, worker) = (Arc::clone(&seen), stats_of.clone());
                async move {
                    started.fetch_add(1, Ordering::SeqCst);
                    // Run until the other copy has been delivered (and, with the rule, skipped).
                    let skipped = wait_until(
                        "the second copy to be delivered and skipped",
                        Duration::from_secs(10),
                        || {
                            let worker = worker.clone();
                            async move {
                                worker
                                    .upgrade()
                                    .is_some_and(|worker| worker.stats().duplicates >= 1)
                            }
                        },
                    );
                    skipped.await.map_err(|e| TaskError::fail(e.to_string()))
                }
            }),
        )
        .expect("register");

    let task = Task::from_spec(TaskSpec::new("dist.twice", b"x".to_vec()), Utc::now());
    client.log().create(&task).await.expect("recorded");
    for copy in ["first", "second"] {
        client
            .broker()
            .publish(&task)
            .await
            .unwrap_or_else(|e| panic!("{copy} copy published: {e}"));
    }
    worker.start().await.expect("worker starts");

    wait_for_state(client.log().as_ref(), task.id, TaskState::Success, WAIT)
        .await
        .expect("the task succeeds");
    assert_eq!(started.load(Ordering::SeqCst), 1, "one copy ran");
    assert_eq!(worker.stats().duplicates, 1, "the other copy is counted");
    assert_eq!(worker.stats().succeeded, 1);
    worker.stop().await;
    client.close().await;
}

/// With Redis and PostgreSQL, a task's `queued` state reaches PostgreSQL up to the merge
/// window after Redis. If the client that sent it dies in between, PostgreSQL still says
/// `initiated`, and the outbox would publish it a second time: the tiered log's outbox asks Redis,
/// and writes the state Redis holds instead of handing the task out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_does_not_publish_again_a_task_redis_shows_queued() {
    let env = Env::new("outboxhot", AMQP, Some(REDIS), Some(POSTGRES));
    let old = Utc::now() - TimeDelta::hours(1);
    let published = Task::from_spec(TaskSpec::new(TASK, b"published".to_vec()), old);
    let unpublished = Task::from_spec(TaskSpec::new(TASK, b"unpublished".to_vec()), old);
    let durable = PostgresLog::connect(
        PostgresConfig::new(POSTGRES).schema(env.config.postgres.schema.clone()),
    )
    .await
    .expect("the durable log opens");
    let mut redis = RedisConfig::new(REDIS);
    redis.namespace.clone_from(&env.config.redis.namespace);
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
