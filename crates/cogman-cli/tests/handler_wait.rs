//! A worker never fails a task only because it lacks that handler: `cogman worker` processes
//! with disjoint handlers on one queue run every task of both names, a task no worker handles
//! is handed back at a growing pause (no busy loop) and fails after `handler_wait` with an
//! error naming its name and queue, its history noting the wait once — in the embedded mode and with `--amqp` (RabbitMQ, the
//! log in the SQLite file).

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cogman::{Client, Config, TaskSpec, TaskState};
use cogman_testkit::servers::SharedCleanup;
use serde_json::Value;
use support::{AMQP, Scratch, WAIT, WorkerProcess, cogman_in, stdout, wait_for};

/// One test's setup: a scratch directory with the SQLite file, and RabbitMQ queues of its own
/// when `amqp`.
struct Setup {
    dir: Scratch,
    config: Config,
    vars: Vec<(&'static str, String)>,
    _cleanup: Option<SharedCleanup>,
}

impl Setup {
    fn new(label: &str, amqp: bool, handler_wait: &str) -> Setup {
        let dir = Scratch::new();
        let mut config = Config {
            sqlite: cogman::config::SqliteConfig {
                path: dir.path().join("cogman.db"),
                ..cogman::config::SqliteConfig::default()
            },
            ..Config::default()
        };
        let mut vars = vec![
            ("COGMAN_HANDLER_WAIT", handler_wait.to_owned()),
            (
                "COGMAN_SQLITE_PATH",
                dir.path().join("cogman.db").display().to_string(),
            ),
            // One line per hand-back, counted by the tests.
            (
                "COGMAN_LOG",
                "warn,cogman::worker::no_handler=info".to_owned(),
            ),
        ];
        let mut cleanup = None;
        if amqp {
            let (prefix, amqp_vars, amqp_cleanup) = support::amqp_vars(&format!("hw_{label}"));
            config.amqp = cogman::config::AmqpConfig {
                queue_prefix: prefix,
                ..cogman::config::AmqpConfig::new(AMQP)
            };
            vars.extend(amqp_vars);
            cleanup = Some(amqp_cleanup);
        }
        Setup {
            dir,
            config,
            vars,
            _cleanup: cleanup,
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `cogman` with this test's variables only.
    fn cogman(&self) -> Command {
        let mut command = cogman_in(self.dir.path());
        command.envs(self.vars.iter().cloned());
        command
    }

    /// Starts `cogman worker --handler HANDLER --concurrency 4`, its stderr in `NAME.log`.
    fn worker(&self, name: &str, handler: &str) -> WorkerProcess {
        let mut command = self.cogman();
        command.args(["worker", "--handler", handler, "--concurrency", "4"]);
        WorkerProcess::spawn(command, self.file(&format!("{name}.log")))
    }

    /// `cogman status ID --json`.
    fn status(&self, id: &str) -> Value {
        let output = self
            .cogman()
            .args(["status", id, "--json"])
            .stdin(Stdio::null())
            .output()
            .expect("cogman status runs");
        serde_json::from_str(&stdout(&output)).expect("JSON")
    }

    /// Runs `f` with a library client on this test's config, in a runtime of its own.
    fn with_client<T>(&self, f: impl AsyncFnOnce(&Client) -> T) -> T {
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
}

/// Two worker processes, one with handler `a` only and one with `b` only, on one queue; 200
/// tasks of each name: every task succeeds, none fails for want of a handler.
fn disjoint_handlers_share_a_queue(amqp: bool) {
    let setup = Setup::new("disjoint", amqp, "1h");
    let _a = setup.worker("worker-a", "a=cat");
    let _b = setup.worker("worker-b", "b=cat");
    let ids = setup.with_client(async |client| {
        let mut ids = Vec::new();
        for i in 0..400 {
            let name = if i % 2 == 0 { "a" } else { "b" };
            let receipt = client
                .send_task(TaskSpec::new(name, format!("{i}").into_bytes()))
                .await
                .expect("sent");
            ids.push(receipt.id);
        }
        ids
    });
    assert_eq!(ids.len(), 400);
    let deadline = Instant::now() + Duration::from_secs(120);
    let totals = loop {
        let totals =
            setup.with_client(async |client| client.inspector().totals().await.expect("counts"));
        let done = totals.get(TaskState::Success) + totals.get(TaskState::Failed);
        if done >= 400 || Instant::now() > deadline {
            break totals;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(
        totals.get(TaskState::Failed),
        0,
        "no task failed: {totals:?}"
    );
    assert_eq!(
        totals.get(TaskState::Success),
        400,
        "all succeeded: {totals:?}"
    );
}

#[test]
fn two_worker_processes_with_disjoint_handlers_run_every_task_embedded() {
    disjoint_handlers_share_a_queue(false);
}

#[test]
fn two_worker_processes_with_disjoint_handlers_run_every_task_amqp() {
    disjoint_handlers_share_a_queue(true);
}

/// How many `waiting_for_handler` notes the history of `status --json` holds.
fn waiting_notes(status: &Value) -> usize {
    status["history"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry["note"] == "waiting_for_handler")
        .count()
}

/// A task no running worker handles stays queued while it is handed back at a growing pause
/// (a handful of deliveries, not a busy loop), then fails after `handler_wait` (3 s) with an
/// error naming its name and queue; a task of a handled name sent behind it is not held up.
fn unhandled_task_waits_then_fails(amqp: bool) {
    let setup = Setup::new("unhandled", amqp, "3s");
    let worker = setup.worker("worker", "a=cat");
    let send = |name: &str| {
        let output = setup
            .cogman()
            .args(["send", name, "--payload", "x"])
            .stdin(Stdio::null())
            .output()
            .expect("cogman send runs");
        stdout(&output)
    };
    let sent = Instant::now();
    let id = send("resize");
    let handed_back = "handing it back for another worker";
    wait_for("the first hand-back", || {
        (worker.log_count(handed_back) >= 1).then_some(())
    });
    let behind = send("a");
    let waiting = setup.status(&id);
    assert_eq!(
        waiting["task"]["status"], "queued",
        "waits, not failed: {waiting}"
    );
    assert_eq!(
        waiting["waiting_for_handler"], true,
        "status says it waits for a handler: {waiting}"
    );
    assert_eq!(waiting_notes(&waiting), 1, "the history says so: {waiting}");
    wait_for("the task behind it", || {
        (setup.status(&behind)["task"]["status"] == "success").then_some(())
    });
    let failed = wait_for("the unhandled task to fail", || {
        let status = setup.status(&id);
        (status["task"]["status"] == "failed").then_some(status)
    });
    assert!(
        sent.elapsed() >= Duration::from_secs(3),
        "failed only after handler_wait"
    );
    assert!(sent.elapsed() < WAIT);
    assert_eq!(
        failed["task"]["fail_error"],
        "no worker has a handler for \"resize\" on queue \"default\" (waited 3s)",
        "{failed}"
    );
    assert_eq!(failed["chain_status"], "failed", "not retried: {failed}");
    assert_eq!(failed["waiting_for_handler"], false, "{failed}");
    assert_eq!(
        waiting_notes(&failed),
        1,
        "one note for the whole wait, not one per hand-back: {failed}"
    );
    // 1 s, 2 s, then the deadline: a few deliveries over 3 s, not thousands.
    let deliveries = worker.log_count(handed_back);
    assert!(
        (2..=4).contains(&deliveries),
        "handed back {deliveries} times in 3 s"
    );
}

#[test]
fn a_task_no_worker_handles_waits_then_fails_naming_name_and_queue_embedded() {
    unhandled_task_waits_then_fails(false);
}

#[test]
fn a_task_no_worker_handles_waits_then_fails_naming_name_and_queue_amqp() {
    unhandled_task_waits_then_fails(true);
}
