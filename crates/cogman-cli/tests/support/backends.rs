//! The backends a CLI test runs `cogman` on — the embedded SQLite file, or RabbitMQ with the
//! Redis, PostgreSQL or tiered log, each under names of the test's own and removed after —
//! and [`Scratch`], a test's directory that shows its processes' logs when the test fails.

use std::path::{Path, PathBuf};

use cogman::Config;
use cogman::config::{AmqpConfig, PostgresConfig, RedisConfig};
use cogman_testkit::servers::SharedCleanup;

use super::{AMQP, POSTGRES, REDIS, amqp_cleanup_with, print_logs};

/// Where a test's tasks queue and are logged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backends {
    /// The SQLite file: queue and log.
    Embedded,
    /// RabbitMQ with the Redis log.
    Redis,
    /// RabbitMQ with the PostgreSQL log.
    Postgres,
    /// RabbitMQ with Redis and PostgreSQL (the tiered log).
    Tiered,
}

/// The `COGMAN_*` variables every `cogman` process of a test gets, the same settings as a
/// library [`Config`], and the cleanup of the queues, namespace and schema they name.
pub struct OnBackends {
    pub vars: Vec<(&'static str, String)>,
    pub config: Config,
    _cleanup: Option<SharedCleanup>,
}

impl Backends {
    /// The settings of these backends for a test: the SQLite file `db`; queues, Redis
    /// namespace and PostgreSQL schema named `{label}_{12 hex}`; `named` lists the named
    /// queues besides `default` whose RabbitMQ sets the cleanup removes.
    pub fn setup(self, label: &str, db: &Path, named: &[&str]) -> OnBackends {
        let id = cogman::TaskId::new().as_uuid().simple().to_string();
        let name = format!("{label}_{}", &id[id.len() - 12..]);
        let mut config = Config::embedded(db.to_path_buf());
        let mut vars = vec![("COGMAN_SQLITE_PATH", db.display().to_string())];
        if self == Backends::Embedded {
            return OnBackends {
                vars,
                config,
                _cleanup: None,
            };
        }
        let prefix = format!("{name}.");
        config.amqp = AmqpConfig {
            queue_prefix: prefix.clone(),
            ..AmqpConfig::new(AMQP)
        };
        vars.push(("COGMAN_AMQP_URI", AMQP.to_owned()));
        vars.push(("COGMAN_AMQP_QUEUE_PREFIX", prefix.clone()));
        let mut cleanup = amqp_cleanup_with(AMQP, &prefix, named);
        if matches!(self, Backends::Redis | Backends::Tiered) {
            config.redis = RedisConfig {
                namespace: name.clone(),
                ..RedisConfig::new(REDIS)
            };
            vars.push(("COGMAN_REDIS_URI", REDIS.to_owned()));
            vars.push(("COGMAN_REDIS_NAMESPACE", name.clone()));
            cleanup = cleanup.redis_namespace(REDIS, &name);
        }
        if matches!(self, Backends::Postgres | Backends::Tiered) {
            config.postgres = PostgresConfig {
                schema: name.clone(),
                ..PostgresConfig::new(POSTGRES)
            };
            vars.push(("COGMAN_POSTGRES_URI", POSTGRES.to_owned()));
            vars.push(("COGMAN_POSTGRES_SCHEMA", name.clone()));
            cleanup = cleanup.postgres_schema(POSTGRES, &name);
        }
        OnBackends {
            vars,
            config,
            _cleanup: Some(cleanup),
        }
    }
}

/// A test's temporary directory; dropped while the test panics, it prints every `*.log` in
/// it (the logs of the test's processes) first.
pub struct Scratch(tempfile::TempDir);

impl Scratch {
    pub fn new() -> Scratch {
        Scratch(tempfile::tempdir().expect("temp dir"))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// `name` in the directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.0.path().join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if std::thread::panicking() {
            print_logs(self.0.path());
        }
    }
}
