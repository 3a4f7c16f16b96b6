//! Chains and chords over the distributed backends: RabbitMQ as the broker and Redis in front
//! of PostgreSQL as the task log (the real servers on 127.0.0.1), with a queue prefix, Redis
//! namespace and PostgreSQL schema unique to each test run. The test's queues, exchanges,
//! keys and schema are deleted when it ends.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cogman::config;
use cogman::{ChordResult, Config, TaskFilter, TaskSpec, TaskState};
use cogman_amqp::{AmqpConfig, Topology};
use cogman_testkit::servers::SharedCleanup;

use support::{appender, collector, ended, squarer, start_with, wait_last_final};

const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
const REDIS: &str = "redis://127.0.0.1:6379";
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A distributed config whose queues, keys and schema no other test (or run) uses.
fn config(label: &str) -> Config {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let unique = format!("wf_{label}_{}", &id[id.len() - 16..]);
    Config {
        amqp: config::AmqpConfig {
            queue_prefix: format!("{unique}."),
            ..config::AmqpConfig::new(AMQP)
        },
        redis: config::RedisConfig {
            namespace: unique.clone(),
            ..config::RedisConfig::new(REDIS)
        },
        postgres: config::PostgresConfig {
            schema: unique,
            ..config::PostgresConfig::new(POSTGRES)
        },
        retry_backoff: Duration::from_millis(20),
        retry_backoff_max: Duration::from_millis(100),
        shutdown_grace: Duration::from_secs(5),
        ..Config::default()
    }
}

/// Deletes, when dropped (also when the test panics), what `config` put on the shared
/// servers: its RabbitMQ queues and exchanges, Redis keys and PostgreSQL schema.
fn cleanup(config: &Config) -> SharedCleanup {
    let mut amqp = AmqpConfig::new(AMQP);
    amqp.queue_prefix.clone_from(&config.amqp.queue_prefix);
    amqp.high_queue_count = config.amqp.high_priority_queue_count;
    amqp.low_queue_count = config.amqp.low_priority_queue_count;
    let topology = Topology::new(&amqp).expect("the test's AMQP config is valid");
    SharedCleanup::new()
        .amqp(AMQP, topology.all_queues(), topology.exchanges())
        .redis_namespace(REDIS, &config.redis.namespace)
        .postgres_schema(POSTGRES, &config.postgres.schema)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_runs_over_rabbitmq_redis_and_postgres() {
    let config = config("chain");
    let _cleanup = cleanup(&config);
    let cogman = start_with(&config).await;
    let ran = Arc::new(Mutex::new(Vec::new()));
    for (name, tag) in [("d.step.a", "a"), ("d.step.b", "b"), ("d.step.c", "c")] {
        cogman
            .register(name, appender(tag, &ran))
            .expect("register");
    }
    let client = cogman.client();
    let steps = vec![
        TaskSpec::new("d.step.a", b"x".to_vec()),
        TaskSpec::new("d.step.b", Vec::new()).retry(1),
        TaskSpec::new("d.step.c", Vec::new()).primary_key("last"),
    ];
    let receipt = client.send_chain(steps).await.expect("send chain");
    let last = TaskFilter {
        primary_key: Some("last".into()),
        ..TaskFilter::default()
    };
    let last = wait_last_final(client, &last).await;
    assert_eq!(last.status, TaskState::Success, "{last:?}");
    assert_eq!(last.result.as_deref(), Some(b"xabc".as_slice()));
    assert_eq!(
        last.workflow.as_ref().map(|l| l.workflow_id),
        Some(receipt.workflow_id)
    );
    cogman.stop().await;
    assert_eq!(*ran.lock().expect("lock"), ["a", "b", "c"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chord_runs_over_rabbitmq_redis_and_postgres() {
    let config = config("chord");
    let _cleanup = cleanup(&config);
    let cogman = start_with(&config).await;
    cogman
        .register("d.square", squarer(None))
        .expect("register");
    let payloads = Arc::new(Mutex::new(Vec::new()));
    cogman
        .register("d.collect", collector(&payloads, "collected"))
        .expect("register");
    let client = cogman.client();
    let members = (0..10u64)
        .map(|i| TaskSpec::new("d.square", i.to_string().into_bytes()))
        .collect();
    let receipt = client
        .send_chord(members, TaskSpec::new("d.collect", Vec::new()))
        .await
        .expect("send chord");
    let callback = ended(client, receipt.callback_id).await;
    assert_eq!(callback.status, TaskState::Success, "{callback:?}");
    let status = client.group_status(&receipt.ids()).await.expect("status");
    assert_eq!(
        (status.count(TaskState::Success), status.done),
        (10, true),
        "{status:?}"
    );
    cogman.stop().await;
    let payloads = payloads.lock().expect("lock").clone();
    // Members that finish at the same moment may both send the callback (see
    // docs/workflows.md); the copy delivered second is skipped, so it runs once.
    assert_eq!(payloads.len(), 1, "the callback ran once");
    let results = ChordResult::parse(&payloads[0]).expect("results");
    let squares: Vec<String> = (0..10u64).map(|i| (i * i).to_string()).collect();
    assert_eq!(
        results
            .iter()
            .filter_map(|r| r.result.clone())
            .collect::<Vec<_>>(),
        squares
    );
    assert!(
        results
            .iter()
            .zip(&receipt.members)
            .all(|(r, m)| r.task_id == m.id),
        "member order"
    );
}
