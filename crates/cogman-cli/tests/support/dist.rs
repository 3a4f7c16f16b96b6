//! [`Dist`]: one test's distributed setup for the CLI's process tests — the `COGMAN_*`
//! variables every `cogman` process gets, the same [`Config`] for library clients, a scratch
//! directory for the files handlers write, and cleanup of what the test left on the shared
//! servers.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use cogman::{Client, Config, Priority};
use cogman_testkit::servers::SharedCleanup;
use serde_json::Value;

use super::{WorkerProcess, stdout, wait_for};

pub const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
pub const REDIS: &str = "redis://127.0.0.1:6379";
pub const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// One test's distributed setup: the `COGMAN_*` variables every process gets (and the same
/// [`Config`] for library clients), a scratch directory, and cleanup of the shared servers.
pub struct Dist {
    dir: tempfile::TempDir,
    vars: Vec<(&'static str, String)>,
    pub config: Config,
    _cleanup: SharedCleanup,
}

impl Dist {
    /// RabbitMQ and Redis shared, PostgreSQL at `postgres`.
    pub fn new(label: &str, postgres: &str) -> Dist {
        Dist::on(label, AMQP, Some(postgres))
    }

    /// RabbitMQ at `amqp` (a private node or the URIs of a cluster, left as they are when
    /// the test ends), the shared Redis as the task log, no PostgreSQL.
    pub fn on_broker(label: &str, amqp: &str) -> Dist {
        Dist::on(label, amqp, None)
    }

    pub fn on(label: &str, amqp: &str, postgres: Option<&str>) -> Dist {
        let id = cogman::TaskId::new().as_uuid().simple().to_string();
        let name = format!("p_{label}_{}", &id[id.len() - 12..]);
        let config = Config {
            amqp: cogman::config::AmqpConfig {
                queue_prefix: format!("{name}."),
                ..cogman::config::AmqpConfig::new(amqp)
            },
            redis: cogman::config::RedisConfig {
                namespace: name.clone(),
                ..cogman::config::RedisConfig::new(REDIS)
            },
            postgres: postgres.map_or_else(Default::default, |uri| {
                cogman::config::PostgresConfig {
                    schema: name.clone(),
                    ..cogman::config::PostgresConfig::new(uri)
                }
            }),
            ..Config::default()
        };
        let mut vars = vec![
            ("COGMAN_AMQP_URI", amqp.to_owned()),
            ("COGMAN_REDIS_URI", REDIS.to_owned()),
            ("COGMAN_AMQP_QUEUE_PREFIX", config.amqp.queue_prefix.clone()),
            ("COGMAN_REDIS_NAMESPACE", name.clone()),
        ];
        if let Some(uri) = postgres {
            vars.push(("COGMAN_POSTGRES_URI", uri.to_owned()));
            vars.push(("COGMAN_POSTGRES_SCHEMA", name.clone()));
        }
        let mut cleanup = SharedCleanup::new().redis_namespace(REDIS, &name);
        if amqp == AMQP {
            cleanup =
                super::amqp_cleanup(AMQP, &config.amqp.queue_prefix).redis_namespace(REDIS, &name);
        }
        if postgres == Some(POSTGRES) {
            cleanup = cleanup.postgres_schema(POSTGRES, &name);
        }
        Dist {
            dir: tempfile::tempdir().expect("temp dir"),
            vars,
            config,
            _cleanup: cleanup,
        }
    }

    /// Asks RabbitMQ for `secs`-second heartbeats on every process's connections (the
    /// `heartbeat` query parameter of the AMQP URI), so a silent peer is dropped fast.
    pub fn amqp_heartbeat(mut self, secs: u16) -> Dist {
        let uri = format!("{AMQP}?heartbeat={secs}");
        for (key, value) in &mut self.vars {
            if *key == "COGMAN_AMQP_URI" {
                value.clone_from(&uri);
            }
        }
        self.config.amqp.uri = Some(uri);
        self
    }

    /// Sets one more `COGMAN_*` variable for every process.
    pub fn var(mut self, key: &'static str, value: &str) -> Dist {
        self.vars.push((key, value.to_owned()));
        self
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `cogman` with this test's variables only.
    pub fn cogman(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_cogman"));
        for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("COGMAN_")) {
            command.env_remove(key);
        }
        command
            .current_dir(self.dir.path())
            .envs(self.vars.iter().cloned());
        command
    }

    /// Starts `cogman worker --handler HANDLER ARGS…`, its stderr in `worker-N.log`.
    pub fn worker(&self, handler: &str, args: &[&str]) -> WorkerProcess {
        let n = std::fs::read_dir(self.dir.path()).map_or(0, Iterator::count);
        let log = self.file(&format!("worker-{n}.log"));
        let mut command = self.cogman();
        command.args(["worker", "--handler", handler]).args(args);
        WorkerProcess::spawn(command, log)
    }

    /// `cogman send ARGS…`; the new task's id.
    pub fn send(&self, args: &[&str]) -> String {
        let output = self
            .cogman()
            .arg("send")
            .args(args)
            .stdin(Stdio::null())
            .output();
        stdout(&output.expect("cogman send runs")).trim().to_owned()
    }

    /// `cogman status ID --json`, when it answers.
    pub fn status(&self, id: &str) -> Option<Value> {
        let output = self
            .cogman()
            .args(["status", id, "--json"])
            .stdin(Stdio::null())
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| serde_json::from_slice(&output.stdout).ok())
            .flatten()
    }

    pub fn wait_success(&self, id: &str) -> Value {
        wait_for(&format!("task {id} to succeed"), || {
            self.status(id)
                .filter(|task| task["task"]["status"] == "success")
        })
    }

    /// Runs `f` with a library client on this test's config, in a runtime of its own.
    pub fn with_client<T>(&self, f: impl AsyncFnOnce(&Client) -> T) -> T {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime");
        runtime.block_on(async {
            let client = Client::connect(&self.config)
                .await
                .expect("client connects");
            let out = f(&client).await;
            client.close().await;
            out
        })
    }

    /// Waits until `n` consumers are attached to the low-priority queue.
    pub fn wait_consumers(&self, n: u32) {
        wait_for(&format!("{n} consumers"), || {
            let consumers = self.with_client(async |client| {
                let stats = client
                    .broker()
                    .queue_stats_source()?
                    .queue_stats()
                    .await
                    .ok()?;
                stats
                    .iter()
                    .find(|q| q.priority == Some(Priority::Low))
                    .and_then(|q| q.consumers)
            });
            (consumers >= Some(n)).then_some(())
        });
    }
}

impl Drop for Dist {
    fn drop(&mut self) {
        if std::thread::panicking() {
            super::print_logs(self.dir.path());
        }
    }
}
