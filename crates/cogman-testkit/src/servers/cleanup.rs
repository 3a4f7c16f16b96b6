//! [`SharedCleanup`]: removes what one test left on the shared servers — its RabbitMQ queues
//! and exchanges, its PostgreSQL schema, its Redis keys — when dropped, also when the test
//! panics. Cleanup failures are printed, never raised: they cannot change a test's verdict.

use std::process::{Command, Stdio};

use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};

/// Deletes KEYS matching ARGV[1], 500 at a time; returns how many.
const DELETE_KEYS: &str = "local keys = redis.call('KEYS', ARGV[1]) \
    for i = 1, #keys, 500 do redis.call('DEL', unpack(keys, i, math.min(i + 499, #keys))) end \
    return #keys";

/// What to remove from the shared servers when dropped.
#[derive(Debug, Default)]
pub struct SharedCleanup {
    amqp: Option<AmqpNames>,
    postgres: Option<(String, String)>,
    redis: Option<(String, String)>,
}

#[derive(Debug)]
struct AmqpNames {
    uri: String,
    queues: Vec<String>,
    exchanges: Vec<String>,
}

impl SharedCleanup {
    /// Nothing to remove yet.
    pub fn new() -> Self {
        SharedCleanup::default()
    }

    /// Deletes these queues and exchanges on the broker at `uri`.
    #[must_use]
    pub fn amqp<Q, E>(mut self, uri: &str, queues: Q, exchanges: E) -> Self
    where
        Q: IntoIterator,
        Q::Item: ToString,
        E: IntoIterator,
        E::Item: ToString,
    {
        self.amqp = Some(AmqpNames {
            uri: uri.to_owned(),
            queues: queues.into_iter().map(|q| q.to_string()).collect(),
            exchanges: exchanges.into_iter().map(|e| e.to_string()).collect(),
        });
        self
    }

    /// Drops `schema` (cascade) in the database at `uri`, with `psql`.
    #[must_use]
    pub fn postgres_schema(mut self, uri: &str, schema: &str) -> Self {
        self.postgres = Some((uri.to_owned(), schema.to_owned()));
        self
    }

    /// Deletes every key `{namespace}:*` in the Redis at `uri`, with `redis-cli`.
    #[must_use]
    pub fn redis_namespace(mut self, uri: &str, namespace: &str) -> Self {
        self.redis = Some((uri.to_owned(), namespace.to_owned()));
        self
    }
}

fn run(program: &str, args: &[&str]) -> Result<(), String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{program}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

async fn delete_amqp(names: &AmqpNames) -> Result<(), lapin::Error> {
    let connection = Connection::connect(&names.uri, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    for queue in &names.queues {
        channel
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await?;
    }
    for exchange in &names.exchanges {
        channel
            .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
            .await?;
    }
    connection.close(200, "cleanup".into()).await
}

impl Drop for SharedCleanup {
    fn drop(&mut self) {
        let amqp = self.amqp.take();
        let postgres = self.postgres.take();
        let redis = self.redis.take();
        // A thread with a runtime of its own: this may run inside (or after) the test's runtime.
        let done = std::thread::spawn(move || {
            let mut failures = Vec::new();
            if let Some(names) = amqp {
                let deleted = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| e.to_string())
                    .and_then(|rt| rt.block_on(delete_amqp(&names)).map_err(|e| e.to_string()));
                if let Err(error) = deleted {
                    failures.push(format!("rabbitmq: {error}"));
                }
            }
            if let Some((uri, schema)) = postgres {
                let sql = format!(
                    "DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                    schema.replace('"', "\"\"")
                );
                if let Err(error) = run("psql", &[&uri, "-q", "-v", "ON_ERROR_STOP=1", "-c", &sql])
                {
                    failures.push(error);
                }
            }
            if let Some((uri, namespace)) = redis {
                let pattern = format!("{namespace}:*");
                if let Err(error) = run(
                    "redis-cli",
                    &["-u", &uri, "EVAL", DELETE_KEYS, "0", &pattern],
                ) {
                    failures.push(error);
                }
            }
            failures
        })
        .join();
        match done {
            Ok(failures) if failures.is_empty() => {}
            Ok(failures) => eprintln!(
                "cleanup of the shared servers failed (harmless): {}",
                failures.join("; ")
            ),
            Err(_) => eprintln!("cleanup of the shared servers panicked (harmless)"),
        }
    }
}
