//! `TieredLog` over the real backends: Redis (hot, expiring) in front of PostgreSQL
//! (durable). The conformance suite, reads falling back to PostgreSQL after the Redis TTL and
//! after the loss of the namespace's keys, and writes that keep working meanwhile.

use std::sync::Arc;
use std::time::Duration;

use cogman_core::{
    PageRequest, RecordOutcome, StateChange, Task, TaskFilter, TaskId, TaskLog, TaskState,
};
use cogman_postgres::{PostgresConfig, PostgresLog};
use cogman_redis::{RedisConfig, RedisLog};
use cogman_testkit::servers::SharedCleanup;
use cogman_testkit::{Guarded, sample, wait_until};
use cogman_tiered::TieredLog;

/// The local Redis.
const REDIS_URI: &str = "redis://127.0.0.1:6379/0";
/// The local PostgreSQL's test database.
const POSTGRES_URI: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Both logs in fresh places, the tiered log over them, and the guards that clean up.
struct Setup {
    hot: RedisLog,
    durable: PostgresLog,
    tiered: Arc<TieredLog>,
    /// Deletes the Redis namespace when dropped; the PostgreSQL schema's guard is apart, so
    /// a test can lose Redis on its own.
    guards: (Option<SharedCleanup>, SharedCleanup),
}

async fn setup(test: &str, redis_ttl: Duration) -> Setup {
    setup_holding(test, redis_ttl, PostgresConfig::DEFAULT_MERGE_WINDOW).await
}

/// As [`setup`], with PostgreSQL holding changes back for `merge_window`.
async fn setup_holding(test: &str, redis_ttl: Duration, merge_window: Duration) -> Setup {
    let namespace = format!("cogman-test:{test}:{}", uuid::Uuid::now_v7().simple());
    let hot_guard = SharedCleanup::new().redis_namespace(REDIS_URI, &namespace);
    let hot = RedisLog::connect(
        RedisConfig::new(REDIS_URI)
            .namespace(namespace)
            .ttl(redis_ttl),
    )
    .await
    .expect("the local Redis on 127.0.0.1:6379 must be running");
    let schema = format!("cogman_test_{test}_{}", uuid::Uuid::now_v7().simple());
    let schema_guard = SharedCleanup::new().postgres_schema(POSTGRES_URI, &schema);
    let durable = PostgresLog::connect(
        PostgresConfig::new(POSTGRES_URI)
            .schema(schema.clone())
            .application_name(schema)
            .max_connections(4)
            .merge_window(merge_window),
    )
    .await
    .expect("the local PostgreSQL on 127.0.0.1:5432 (database test) must be running");
    let tiered = Arc::new(TieredLog::new(
        Arc::new(hot.clone()),
        Arc::new(durable.clone()),
    ));
    Setup {
        hot,
        durable,
        tiered,
        guards: (Some(hot_guard), schema_guard),
    }
}

impl Setup {
    /// Deletes every key of the Redis namespace now, as a flush would.
    fn lose_redis(&mut self) {
        drop(self.guards.0.take());
    }

    /// A task the tiered log must find (in Redis or, failing that, in PostgreSQL).
    async fn read(&self, id: TaskId) -> Task {
        self.tiered
            .get(id)
            .await
            .expect("get")
            .expect("served by one of the logs")
    }
}

// PostgreSQL holds changes back for 2 s (longer than the suite's calls take, shorter than its
// deadline), so that `flush` is what writes them.
cogman_testkit::task_log_conformance!(async {
    let setup = setup_holding(
        "tiered_conformance",
        Duration::from_secs(600),
        Duration::from_secs(2),
    )
    .await;
    Guarded::new(setup.tiered, setup.guards)
});

#[tokio::test]
async fn reads_fall_back_to_postgres_once_redis_records_expire() {
    let setup = setup("tiered_ttl", Duration::from_secs(1)).await;
    let task = sample::task("tiered.ttl");
    setup.tiered.create(&task).await.expect("create");
    let queued = StateChange::new(task.id, TaskState::Queued);
    assert_eq!(
        setup.tiered.record(&queued).await.expect("record"),
        RecordOutcome::Applied
    );
    assert!(setup.hot.get(task.id).await.expect("hot get").is_some());

    wait_until(
        "the Redis record to expire",
        Duration::from_secs(10),
        || {
            let hot = setup.hot.clone();
            async move { hot.get(task.id).await.expect("hot get").is_none() }
        },
    )
    .await
    .expect("the hot record expires after its TTL");

    let read = setup.read(task.id).await;
    assert_eq!(read.status, TaskState::Queued);
    assert_eq!(read.payload, task.payload);
    // Writes keep working: PostgreSQL applies them, Redis has nothing to advance.
    let running = StateChange::new(task.id, TaskState::InProgress);
    assert_eq!(
        setup.tiered.record(&running).await.expect("record"),
        RecordOutcome::Applied
    );
    let read = setup.read(task.id).await;
    assert_eq!(read.status, TaskState::InProgress);
}

#[tokio::test]
async fn reads_fall_back_to_postgres_after_redis_loses_the_namespace() {
    let mut setup = setup("tiered_flush", Duration::from_secs(600)).await;
    let tasks: Vec<_> = (0..5).map(|_| sample::task("tiered.flush")).collect();
    for task in &tasks {
        setup.tiered.create(task).await.expect("create");
        setup
            .tiered
            .record(
                &StateChange::new(task.id, TaskState::Success).duration(Duration::from_millis(5)),
            )
            .await
            .expect("record");
    }
    for task in &tasks {
        assert!(
            setup.hot.get(task.id).await.expect("hot get").is_some(),
            "Redis holds it"
        );
    }
    setup.lose_redis();
    for task in &tasks {
        assert_eq!(
            setup.hot.get(task.id).await.expect("hot get"),
            None,
            "Redis lost it"
        );
        let read = setup.read(task.id).await;
        assert_eq!(read.status, TaskState::Success);
        assert_eq!(read.duration, Some(0.005));
        assert_eq!(
            setup.tiered.history(task.id).await.expect("history").len(),
            2,
            "history comes from PostgreSQL"
        );
    }
    let page = setup
        .tiered
        .list(&TaskFilter::default(), PageRequest::first(10))
        .await
        .expect("list");
    assert_eq!(
        page.items.len(),
        tasks.len(),
        "listings come from PostgreSQL"
    );
    assert_eq!(
        setup
            .durable
            .get(tasks[0].id)
            .await
            .expect("durable get")
            .map(|t| t.status),
        Some(TaskState::Success)
    );
}
