//! The environment of one test: a distributed [`Config`] whose queues, Redis keys and
//! PostgreSQL schema no other test (or run) uses, a scratch directory, and the cleanup of what
//! the test leaves on the shared servers.

use std::time::Duration;

use cogman::config;
use cogman::{Client, Config, TaskId, Worker};
use cogman_amqp::{AmqpConfig, Topology};
use cogman_testkit::servers::SharedCleanup;

use crate::ledger::Ledger;

/// The shared servers.
pub(crate) const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub(crate) const REDIS: &str = "redis://127.0.0.1:6379";
pub(crate) const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Deadline of every wait (each test stays under a minute).
pub(crate) const WAIT: Duration = Duration::from_secs(45);

/// The task name every test handler is registered under.
pub(crate) const TASK: &str = "dist.count";

/// A lowercase name no other test or run uses: `d_{label}_{12 hex}`.
pub(crate) fn unique(label: &str) -> String {
    let id = TaskId::new().as_uuid().simple().to_string();
    format!("d_{label}_{}", &id[id.len() - 12..])
}

/// Prints each phase of a long test with the time since it began (shown when the test fails
/// or times out, so a slow phase is told from a hang).
pub(crate) struct Timeline(tokio::time::Instant);

impl Timeline {
    pub(crate) fn start() -> Timeline {
        Timeline(tokio::time::Instant::now())
    }

    pub(crate) fn mark(&self, what: &str) {
        eprintln!("[{:>7.2?}] {what}", self.0.elapsed());
    }
}

/// One test's config, scratch directory and cleanup.
pub(crate) struct Env {
    pub(crate) config: Config,
    _dir: tempfile::TempDir,
    _cleanup: SharedCleanup,
}

impl Env {
    /// A config on these servers (the log is SQLite in the scratch directory when neither
    /// Redis nor PostgreSQL is given), with short timeouts so faults show quickly.
    pub(crate) fn new(label: &str, amqp: &str, redis: Option<&str>, postgres: Option<&str>) -> Env {
        let name = unique(label);
        let dir = tempfile::tempdir().expect("scratch dir");
        let config = Config {
            sqlite: config::SqliteConfig {
                path: dir.path().join("cogman.db"),
                ..config::SqliteConfig::default()
            },
            amqp: config::AmqpConfig {
                queue_prefix: format!("{name}."),
                ..config::AmqpConfig::new(amqp)
            },
            redis: config::RedisConfig {
                uri: redis.map(str::to_owned),
                namespace: name.clone(),
                ..config::RedisConfig::default()
            },
            postgres: config::PostgresConfig {
                uri: postgres.map(str::to_owned),
                schema: name.clone(),
                ..config::PostgresConfig::default()
            },
            request_timeout: Duration::from_secs(1),
            connection_timeout: Duration::from_secs(60),
            retry_backoff: Duration::from_millis(20),
            retry_backoff_max: Duration::from_millis(100),
            shutdown_grace: Duration::from_secs(5),
            ..Config::default()
        };
        let mut cleanup = SharedCleanup::new();
        if amqp == AMQP {
            let (queues, exchanges) = topology_names(&config);
            cleanup = cleanup.amqp(AMQP, queues, exchanges);
        }
        if redis == Some(REDIS) {
            cleanup = cleanup.redis_namespace(REDIS, &name);
        }
        if postgres == Some(POSTGRES) {
            cleanup = cleanup.postgres_schema(POSTGRES, &name);
        }
        Env {
            config,
            _dir: dir,
            _cleanup: cleanup,
        }
    }

    /// A client of its own (own connections).
    pub(crate) async fn client(&self) -> Client {
        Client::connect(&self.config)
            .await
            .unwrap_or_else(|e| panic!("client connects: {e} ({e:?})"))
    }

    /// A started worker of its own whose [`TASK`] handler records runs in `ledger`.
    pub(crate) async fn worker(&self, ledger: &Ledger) -> Worker {
        let worker = Worker::connect(&self.config)
            .await
            .unwrap_or_else(|e| panic!("worker connects: {e} ({e:?})"));
        worker.register(TASK, ledger.handler()).expect("register");
        worker.start().await.expect("worker starts");
        worker
    }
}

/// Every queue and exchange name `config` uses on RabbitMQ.
fn topology_names(config: &Config) -> (Vec<String>, Vec<String>) {
    let mut amqp = AmqpConfig::new(AMQP);
    amqp.queue_prefix.clone_from(&config.amqp.queue_prefix);
    amqp.high_queue_count = config.amqp.high_priority_queue_count;
    amqp.low_queue_count = config.amqp.low_priority_queue_count;
    let topology = Topology::new(&amqp).expect("valid topology");
    let queues = topology
        .work_queues()
        .map(|(_, q)| q.to_string())
        .chain(topology.delay_levels().iter().map(ToString::to_string))
        .chain([topology.dead_letter_queue().to_string()])
        .collect();
    let exchanges = topology
        .delay_levels()
        .iter()
        .chain([topology.delay_deliver_exchange()])
        .map(ToString::to_string)
        .collect();
    (queues, exchanges)
}
