//! [`Config`]: the seed's settings with the seed's defaults, plus ours, and [`Config::validate`],
//! which turns every bad value into a [`ConfigError`] before anything connects. The library
//! never reads files or environment variables; the `cogman` binary does that.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

const DAY: u64 = 24 * 3600;

/// Everything cogman needs to run. `Config::default()` is the embedded mode: one SQLite file,
/// `./cogman.db`, no services. Setting `amqp_uri` uses RabbitMQ; `redis_uri` and/or
/// `postgres_uri` choose the task log (see `docs/configuration.md`).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
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
    /// RabbitMQ URI (`amqp://` or `amqps://`). Unset: the embedded SQLite queue.
    pub amqp_uri: Option<String>,
    /// Redis URI (`redis://` or `rediss://`) for the hot task log.
    pub redis_uri: Option<String>,
    /// PostgreSQL URI (`postgres://`) for the durable task log (the seed's MongoDB).
    pub postgres_uri: Option<String>,
    /// The SQLite file of the embedded mode (queue and/or log). Default `cogman.db`.
    pub db: PathBuf,
    /// How long Redis keeps a task record. Default 1 week (the seed's `RedisTTL`).
    #[serde(with = "humantime_serde")]
    pub redis_ttl: Duration,
    /// How long the durable log keeps a task. Default 30 days (the seed's `MongoTTL`).
    #[serde(with = "humantime_serde")]
    pub durable_ttl: Duration,
    /// Number of high-priority queues. Default 1.
    pub high_priority_queue_count: u16,
    /// Number of low-priority (lazy) queues. Default 1.
    pub low_priority_queue_count: u16,
    /// Prefix of every queue name (RabbitMQ). Default empty: the seed's names.
    pub queue_prefix: String,
    /// Key namespace in Redis. Default `cogman`.
    pub redis_namespace: String,
    /// Schema in PostgreSQL. Default `cogman`.
    pub postgres_schema: String,
    /// Deliveries a worker may hold unsettled (RabbitMQ QoS; SQLite claim batch); a worker
    /// holds at least `concurrency`, so every slot can be busy. Default 10.
    pub prefetch: u16,
    /// Tasks a worker runs at once. Default 10.
    pub concurrency: u32,
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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            connection_timeout: Duration::from_secs(600),
            request_timeout: Duration::from_secs(5),
            amqp_uri: None,
            redis_uri: None,
            postgres_uri: None,
            db: PathBuf::from("cogman.db"),
            redis_ttl: Duration::from_secs(7 * DAY),
            durable_ttl: Duration::from_secs(30 * DAY),
            high_priority_queue_count: 1,
            low_priority_queue_count: 1,
            queue_prefix: String::new(),
            redis_namespace: "cogman".into(),
            postgres_schema: "cogman".into(),
            prefetch: 10,
            concurrency: 10,
            max_payload_bytes: 1024 * 1024,
            task_timeout: Duration::from_secs(25 * 60),
            lease: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            retry_backoff: Duration::from_secs(1),
            retry_backoff_max: Duration::from_secs(600),
            max_deliveries: 10,
            send_buffer: 10_000,
        }
    }
}

/// A setting that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid config: {field}: {reason}")]
pub struct ConfigError {
    /// The field at fault.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

fn fail(field: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        field,
        reason: reason.into(),
    }
}

fn check_uri(field: &'static str, uri: Option<&str>, schemes: &[&str]) -> Result<(), ConfigError> {
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

fn check_positive(field: &'static str, value: Duration) -> Result<(), ConfigError> {
    if value.is_zero() {
        Err(fail(field, "must be greater than zero"))
    } else {
        Ok(())
    }
}

fn check_name(field: &'static str, value: &str, allow_empty: bool) -> Result<(), ConfigError> {
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

impl Config {
    /// The embedded default on `path` instead of `./cogman.db`.
    pub fn embedded(path: impl Into<PathBuf>) -> Self {
        Config {
            db: path.into(),
            ..Config::default()
        }
    }

    /// True when RabbitMQ is the broker.
    pub fn is_distributed(&self) -> bool {
        self.amqp_uri.is_some()
    }

    /// Checks every field.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_uri("amqp_uri", self.amqp_uri.as_deref(), &["amqp", "amqps"])?;
        check_uri("redis_uri", self.redis_uri.as_deref(), &["redis", "rediss"])?;
        check_uri(
            "postgres_uri",
            self.postgres_uri.as_deref(),
            &["postgres", "postgresql"],
        )?;
        check_positive("connection_timeout", self.connection_timeout)?;
        check_positive("request_timeout", self.request_timeout)?;
        check_positive("redis_ttl", self.redis_ttl)?;
        check_positive("durable_ttl", self.durable_ttl)?;
        check_positive("task_timeout", self.task_timeout)?;
        check_positive("lease", self.lease)?;
        check_positive("retry_backoff", self.retry_backoff)?;
        if self.lease < Duration::from_millis(200) {
            return Err(fail("lease", "must be at least 200ms"));
        }
        if self.retry_backoff_max < self.retry_backoff {
            return Err(fail("retry_backoff_max", "must not be below retry_backoff"));
        }
        if self.high_priority_queue_count == 0 {
            return Err(fail("high_priority_queue_count", "must be at least 1"));
        }
        if self.low_priority_queue_count == 0 {
            return Err(fail("low_priority_queue_count", "must be at least 1"));
        }
        if self.prefetch == 0 {
            return Err(fail("prefetch", "must be at least 1"));
        }
        if self.concurrency == 0 || self.concurrency > 10_000 {
            return Err(fail("concurrency", "must be between 1 and 10000"));
        }
        if self.max_payload_bytes == 0 || self.max_payload_bytes > 128 * 1024 * 1024 {
            return Err(fail(
                "max_payload_bytes",
                "must be between 1 and 134217728 (128 MiB)",
            ));
        }
        if self.max_deliveries == 0 {
            return Err(fail("max_deliveries", "must be at least 1"));
        }
        if self.send_buffer == 0 {
            return Err(fail("send_buffer", "must be at least 1"));
        }
        if self.db.as_os_str().is_empty() {
            return Err(fail("db", "must name a file"));
        }
        check_name("queue_prefix", &self.queue_prefix, true)?;
        check_name("redis_namespace", &self.redis_namespace, false)?;
        check_name("postgres_schema", &self.postgres_schema, false)?;
        Ok(())
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

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |u: &Option<String>| u.as_deref().map(cogman_core::redact_uri);
        f.debug_struct("Config")
            .field("connection_timeout", &self.connection_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("amqp_uri", &redacted(&self.amqp_uri))
            .field("redis_uri", &redacted(&self.redis_uri))
            .field("postgres_uri", &redacted(&self.postgres_uri))
            .field("db", &self.db)
            .field("redis_ttl", &self.redis_ttl)
            .field("durable_ttl", &self.durable_ttl)
            .field("high_priority_queue_count", &self.high_priority_queue_count)
            .field("low_priority_queue_count", &self.low_priority_queue_count)
            .field("prefetch", &self.prefetch)
            .field("concurrency", &self.concurrency)
            .field("max_payload_bytes", &self.max_payload_bytes)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_seeds_and_valid() {
        let c = Config::default();
        assert_eq!(c.connection_timeout, Duration::from_secs(600));
        assert_eq!(c.request_timeout, Duration::from_secs(5));
        assert_eq!(c.redis_ttl, Duration::from_secs(7 * DAY));
        assert_eq!(c.durable_ttl, Duration::from_secs(30 * DAY));
        assert_eq!(
            (c.high_priority_queue_count, c.low_priority_queue_count),
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
                    amqp_uri: Some("http://x".into()),
                    ..Config::default()
                },
                "amqp_uri",
            ),
            (
                Config {
                    redis_uri: Some("localhost:6379".into()),
                    ..Config::default()
                },
                "redis_uri",
            ),
            (
                Config {
                    high_priority_queue_count: 0,
                    ..Config::default()
                },
                "high_priority_queue_count",
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
                    queue_prefix: "a b".into(),
                    ..Config::default()
                },
                "queue_prefix",
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
            postgres_uri: Some("postgres://u:pw@h/db".into()),
            ..Config::default()
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("pw@"), "{shown}");
        assert!(shown.contains("u:***@h"), "{shown}");
    }
}
