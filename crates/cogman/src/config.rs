//! [`Config`]: the seed's settings with the seed's defaults, plus ours, and [`Config::validate`],
//! which turns every bad value into a [`ConfigError`] before anything connects. Settings that
//! every mode uses (timeouts, concurrency, retry backoff) are fields of [`Config`]; each
//! backend's own settings are a section of it, defined (with their defaults and checks) in that
//! backend's file under [`backends`](crate::backends): [`SqliteConfig`], [`AmqpConfig`],
//! [`RedisConfig`], [`PostgresConfig`]. The library never reads files or environment variables;
//! the `cogman` binary does that.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use crate::backends::amqp::AmqpConfig;
pub use crate::backends::postgres::PostgresConfig;
pub use crate::backends::redis::RedisConfig;
pub use crate::backends::sqlite::SqliteConfig;

/// Everything cogman needs to run. `Config::default()` is the embedded mode: one SQLite file,
/// `./cogman.db`, no services. Setting `amqp.uri` uses RabbitMQ; `redis.uri` and/or
/// `postgres.uri` choose the task log (see `docs/configuration.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// How long to keep trying to reach a broker or store before calls report it unavailable.
    /// Default 10 min (the seed's `ConnectionTimeout`).
    #[serde(with = "humantime_serde")]
    pub connection_timeout: Duration,
    /// How long one request (a publish confirm, a log write) may take. Default 5 s (the seed's
    /// `RequestTimeout`).
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Deliveries a worker may hold unsettled (RabbitMQ QoS; SQLite claim batch); a worker
    /// holds at least `concurrency`, so every slot can be busy. Default 10.
    pub prefetch: u16,
    /// Tasks a worker runs at once. Default 10.
    pub concurrency: u32,
    /// The named queues a worker consumes (`COGMAN_QUEUES=a,b`; `cogman worker --queue`).
    /// Default `["default"]`.
    pub queues: Vec<String>,
    /// Largest payload accepted, in bytes. Default 1 MiB.
    pub max_payload_bytes: usize,
    /// Handler timeout for tasks that set none. Default 25 min (below RabbitMQ's 30 min
    /// consumer timeout).
    #[serde(with = "humantime_serde")]
    pub task_timeout: Duration,
    /// How long a claimed task stays with a worker without a heartbeat (embedded mode);
    /// the worker extends it while the task runs. Default 30 s.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// On stop, how long running tasks may finish before they are cancelled and put back.
    /// Default 10 s.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// How long a handler told to stop (timeout, cancel, worker shutdown) may take to return
    /// before it is dropped; a shell handler's process group gets SIGTERM, then SIGKILL after
    /// it. Default 5 s.
    #[serde(with = "humantime_serde")]
    pub kill_grace: Duration,
    /// Largest result a handler may return, in bytes; a larger one fails the attempt.
    /// Default 1 MiB.
    pub max_result_bytes: usize,
    /// How long a task whose name a worker has no handler for may wait, from the first such
    /// delivery, for a worker that has one; it is handed back meanwhile, then fails naming the
    /// task name and queue. Default 1 h.
    #[serde(with = "humantime_serde")]
    pub handler_wait: Duration,
    /// Delay before the first retry (doubled for each further one, with jitter). Default 1 s.
    #[serde(with = "humantime_serde")]
    pub retry_backoff: Duration,
    /// Longest delay between retries. Default 10 min.
    #[serde(with = "humantime_serde")]
    pub retry_backoff_max: Duration,
    /// Deliveries without an outcome (worker crashes) before a task is dead-lettered. Default 10.
    pub max_deliveries: u32,
    /// Tasks a client holds in memory while the broker is unreachable and no durable log
    /// can hold them. Default 10,000.
    pub send_buffer: usize,
    /// How often each worker and API server deletes finished tasks older than the task log's
    /// TTL (`sqlite.ttl`, `postgres.ttl`, or `redis.ttl` for Redis alone), jittered between
    /// half and all of it; one purge of a log runs at a time. Default 10 min.
    #[serde(with = "humantime_serde")]
    pub purge_interval: Duration,
    /// Where `cogman worker` (and the worker inside `cogman serve`) serves its Prometheus
    /// metrics (`GET /metrics`), e.g. `127.0.0.1:9464`; unset (the default) serves none. The library serves nothing by
    /// itself: see [`crate::metrics::MetricsServer`].
    pub metrics: Option<std::net::SocketAddr>,
    /// The OTLP/HTTP collector spans are exported to (its base URL, e.g.
    /// `http://127.0.0.1:4318`; `/v1/traces` is added), as JSON. Unset (the default): no span
    /// is recorded, and the trace context a task arrived with is passed on unchanged
    /// (docs/observability.md).
    pub otlp_endpoint: Option<String>,
    /// The scheduler's leader lease: the process sending periodic tasks renews it; another
    /// takes over this long after it died. Default 15 s.
    #[serde(with = "humantime_serde")]
    pub scheduler_lease: Duration,
    /// Periodic tasks (`[[schedule]]` tables), stored in the task log when a worker or
    /// `cogman serve` starts.
    #[serde(rename = "schedule")]
    pub schedules: Vec<crate::scheduler::ScheduleConfig>,
    /// The embedded SQLite file (queue and/or log).
    pub sqlite: SqliteConfig,
    /// RabbitMQ, the broker when its `uri` is set.
    pub amqp: AmqpConfig,
    /// Redis, the (hot) task log when its `uri` is set.
    pub redis: RedisConfig,
    /// PostgreSQL, the durable task log when its `uri` is set (the seed's MongoDB).
    pub postgres: PostgresConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            connection_timeout: Duration::from_secs(600),
            request_timeout: Duration::from_secs(5),
            prefetch: 10,
            concurrency: 10,
            queues: vec![cogman_core::default_queue()],
            max_payload_bytes: 1024 * 1024,
            task_timeout: Duration::from_secs(25 * 60),
            lease: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            kill_grace: Duration::from_secs(5),
            max_result_bytes: 1024 * 1024,
            handler_wait: Duration::from_secs(3600),
            retry_backoff: Duration::from_secs(1),
            retry_backoff_max: Duration::from_secs(600),
            max_deliveries: 10,
            send_buffer: 10_000,
            purge_interval: Duration::from_secs(600),
            metrics: None,
            otlp_endpoint: None,
            scheduler_lease: Duration::from_secs(15),
            schedules: Vec::new(),
            sqlite: SqliteConfig::default(),
            amqp: AmqpConfig::default(),
            redis: RedisConfig::default(),
            postgres: PostgresConfig::default(),
        }
    }
}

/// A setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid config: {field}: {reason}")]
pub struct ConfigError {
    /// The field at fault, as written in a config file: `concurrency`, or `amqp.uri` for a
    /// field of a section.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

pub(crate) fn fail(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        field,
        reason: reason.into(),
    }
}

/// An unset URI, or one with one of `schemes`.
pub(crate) fn check_uri(
    field: &'static str,
    uri: Option<&str>,
    schemes: &[&str],
) -> Result<(), ConfigError> {
    let Some(uri) = uri else { return Ok(()) };
    let scheme = uri.split_once("://").map(|(s, _)| s);
    match scheme {
        Some(s) if schemes.contains(&s) => Ok(()),
        _ => Err(fail(
            field,
            format!(
                "expected a URI starting with {}",
                schemes.join("://, ") + "://"
            ),
        )),
    }
}

pub(crate) fn check_positive(field: &'static str, value: Duration) -> Result<(), ConfigError> {
    if value.is_zero() {
        Err(fail(field, "must be greater than zero"))
    } else {
        Ok(())
    }
}

/// A name used in queue names, keys or SQL identifiers.
pub(crate) fn check_name(
    field: &'static str,
    value: &str,
    allow_empty: bool,
) -> Result<(), ConfigError> {
    if value.is_empty() && !allow_empty {
        return Err(fail(field, "must not be empty"));
    }
    let ok = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if ok && value.len() <= 64 {
        Ok(())
    } else {
        Err(fail(
            field,
            "use at most 64 characters from A-Z a-z 0-9 _ - . :",
        ))
    }
}

/// A URI as `Debug` output shows it: without its password.
pub(crate) fn redacted(uri: Option<&str>) -> Option<String> {
    uri.map(cogman_core::redact_uri)
}

impl Config {
    /// The embedded default on `path` instead of `./cogman.db`.
    pub fn embedded(path: impl Into<PathBuf>) -> Self {
        Config {
            sqlite: SqliteConfig {
                path: path.into(),
                ..SqliteConfig::default()
            },
            ..Config::default()
        }
    }

    /// True when RabbitMQ is the broker.
    pub fn is_distributed(&self) -> bool {
        self.amqp.uri.is_some()
    }

    /// Checks every field, the sections' included.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_positive("connection_timeout", self.connection_timeout)?;
        check_positive("request_timeout", self.request_timeout)?;
        check_positive("purge_interval", self.purge_interval)?;
        check_positive("task_timeout", self.task_timeout)?;
        check_positive("lease", self.lease)?;
        check_positive("handler_wait", self.handler_wait)?;
        check_positive("retry_backoff", self.retry_backoff)?;
        if self.lease < Duration::from_millis(200) {
            return Err(fail("lease", "must be at least 200ms"));
        }
        if self.retry_backoff_max < self.retry_backoff {
            return Err(fail("retry_backoff_max", "must not be below retry_backoff"));
        }
        if self.prefetch == 0 {
            return Err(fail("prefetch", "must be at least 1"));
        }
        if self.concurrency == 0 || self.concurrency > 10_000 {
            return Err(fail("concurrency", "must be between 1 and 10000"));
        }
        if let Some(endpoint) = &self.otlp_endpoint
            && !(endpoint.starts_with("http://") || endpoint.starts_with("https://"))
        {
            return Err(fail("otlp_endpoint", "must be an http:// or https:// URL"));
        }
        if self.queues.is_empty() {
            return Err(fail("queues", "name at least one queue"));
        }
        for queue in &self.queues {
            cogman_core::validate_queue_name(queue).map_err(|e| fail("queues", e.to_string()))?;
        }
        if self.max_payload_bytes == 0 || self.max_payload_bytes > 128 * 1024 * 1024 {
            return Err(fail(
                "max_payload_bytes",
                "must be between 1 and 134217728 (128 MiB)",
            ));
        }
        if self.max_result_bytes == 0 || self.max_result_bytes > 128 * 1024 * 1024 {
            return Err(fail(
                "max_result_bytes",
                "must be between 1 and 134217728 (128 MiB)",
            ));
        }
        if self.max_deliveries == 0 {
            return Err(fail("max_deliveries", "must be at least 1"));
        }
        if self.send_buffer == 0 {
            return Err(fail("send_buffer", "must be at least 1"));
        }
        if self.scheduler_lease < Duration::from_millis(500) {
            return Err(fail("scheduler_lease", "must be at least 500ms"));
        }
        self.scheduled()?;
        self.sqlite.validate()?;
        self.amqp.validate()?;
        self.redis.validate()?;
        self.postgres.validate()
    }

    /// The `[[schedule]]` tables as schedules, each checked against the limits.
    ///
    /// # Errors
    /// [`ConfigError`] on field `schedule` naming the schedule and the reason.
    pub fn scheduled(&self) -> Result<Vec<cogman_core::Schedule>, ConfigError> {
        let limits = self.limits();
        self.schedules
            .iter()
            .map(|table| {
                table
                    .to_schedule()
                    .and_then(|s| s.validate(&limits).map(|()| s))
                    .map_err(|e| fail("schedule", format!("{:?}: {e}", table.id)))
            })
            .collect()
    }

    /// Input limits derived from this config.
    pub fn limits(&self) -> cogman_core::Limits {
        cogman_core::Limits {
            max_payload_bytes: self.max_payload_bytes,
            ..cogman_core::Limits::default()
        }
    }

    /// Retry backoff derived from this config.
    pub fn backoff(&self) -> cogman_core::Backoff {
        cogman_core::Backoff {
            base: self.retry_backoff,
            max: self.retry_backoff_max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: u64 = 24 * 3600;

    #[test]
    fn defaults_are_the_seeds_and_valid() {
        let c = Config::default();
        assert_eq!(c.connection_timeout, Duration::from_secs(600));
        assert_eq!(c.request_timeout, Duration::from_secs(5));
        assert_eq!(c.redis.ttl, Duration::from_secs(7 * DAY));
        assert_eq!(c.postgres.ttl, Duration::from_secs(30 * DAY));
        assert_eq!(
            (
                c.amqp.high_priority_queue_count,
                c.amqp.low_priority_queue_count
            ),
            (1, 1)
        );
        assert!(!c.is_distributed());
        assert_eq!(c.validate(), Ok(()));
    }

    #[test]
    fn bad_values_name_their_field() {
        let cases: Vec<(Config, &str)> = vec![
            (
                Config {
                    amqp: AmqpConfig {
                        uri: Some("http://x".into()),
                        ..AmqpConfig::default()
                    },
                    ..Config::default()
                },
                "amqp.uri",
            ),
            (
                Config {
                    redis: RedisConfig {
                        uri: Some("localhost:6379".into()),
                        ..RedisConfig::default()
                    },
                    ..Config::default()
                },
                "redis.uri",
            ),
            (
                Config {
                    amqp: AmqpConfig {
                        high_priority_queue_count: 0,
                        ..AmqpConfig::default()
                    },
                    ..Config::default()
                },
                "amqp.high_priority_queue_count",
            ),
            (
                Config {
                    concurrency: 0,
                    ..Config::default()
                },
                "concurrency",
            ),
            (
                Config {
                    request_timeout: Duration::ZERO,
                    ..Config::default()
                },
                "request_timeout",
            ),
            (
                Config {
                    amqp: AmqpConfig {
                        queue_prefix: "a b".into(),
                        ..AmqpConfig::default()
                    },
                    ..Config::default()
                },
                "amqp.queue_prefix",
            ),
            (
                Config {
                    max_payload_bytes: 0,
                    ..Config::default()
                },
                "max_payload_bytes",
            ),
        ];
        for (config, field) in cases {
            assert_eq!(config.validate().map_err(|e| e.field), Err(field));
        }
    }

    #[test]
    fn secrets_are_redacted() {
        let c = Config {
            postgres: PostgresConfig {
                uri: Some("postgres://u:pw@h/db".into()),
                ..PostgresConfig::default()
            },
            ..Config::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("pw@"), "{shown}");
        assert!(shown.contains("u:***@h"), "{shown}");
    }

    #[test]
    fn sections_are_tables_in_toml() {
        let c: Config = toml::from_str(
            "concurrency = 3\n[amqp]\nuri = \"amqp://h\"\n[sqlite]\npath = \"x.db\"\n",
        )
        .expect("a valid file");
        assert_eq!(c.concurrency, 3);
        assert_eq!(c.amqp.uri.as_deref(), Some("amqp://h"));
        assert_eq!(c.amqp.low_priority_queue_count, 1);
        assert_eq!(c.sqlite.path, PathBuf::from("x.db"));
    }
}
