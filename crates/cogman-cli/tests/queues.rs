//! Named queues as users run them: two `cogman worker` processes with the same handler name
//! and different `--queue`s, tasks sent with `cogman send --queue`; each task runs on the worker
//! serving its queue (the worker id recorded in its history says which), embedded and on
//! RabbitMQ.

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::{WorkerProcess, cogman, json, run, stdout, wait_for};

const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// A test's directory and, on RabbitMQ, its queue prefix (removed when done).
struct Setup {
    dir: tempfile::TempDir,
    amqp: Option<(String, cogman_testkit::servers::SharedCleanup)>,
}

impl Setup {
    fn embedded() -> Setup {
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
            amqp: None,
        }
    }

    fn amqp(named: &[&str]) -> Setup {
        let id = cogman::TaskId::new().as_uuid().simple().to_string();
        let prefix = format!("queues_{}.", &id[id.len() - 12..]);
        let cleanup = support::amqp_cleanup_with(AMQP, &prefix, named);
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
            amqp: Some((prefix, cleanup)),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cogman(&self) -> Command {
        let mut command = cogman(self.path());
        if let Some((prefix, _)) = &self.amqp {
            command
                .env("COGMAN_AMQP_URI", AMQP)
                .env("COGMAN_AMQP_QUEUE_PREFIX", prefix);
        }
        command
    }

    fn worker(&self, label: &str, queues: &[&str]) -> WorkerProcess {
        let mut command = self.cogman();
        command
            .env("COGMAN_LOG", "info")
            .args(["worker", "--quiet", "--handler", "job=cat"]);
        for queue in queues {
            command.args(["--queue", queue]);
        }
        WorkerProcess::spawn(command, self.path().join(format!("{label}.log")))
    }

    fn send(&self, queue: &str) -> String {
        let payload = format!("for {queue}");
        stdout(&run(self.cogman().args([
            "send",
            "job",
            "--queue",
            queue,
            "--payload",
            &payload,
        ])))
    }

    fn status(&self, id: &str) -> Value {
        json(&run(self.cogman().args(["status", id, "--json"])))
    }
}

/// Sends 5 tasks to each of `alpha` and `beta` while two workers serve one each: every task
/// succeeds, on the worker of its queue, and shows its queue.
fn each_queue_runs_on_its_own_worker(setup: &Setup) {
    let alpha = setup.worker("alpha", &["alpha"]);
    let beta = setup.worker("beta", &["beta", "default"]);
    let (alpha_id, beta_id) = (alpha.id(), beta.id());
    let mut sent = Vec::new();
    for _ in 0..5 {
        for queue in ["alpha", "beta"] {
            sent.push((queue, setup.send(queue)));
        }
    }
    for (queue, id) in &sent {
        let details = wait_for(&format!("task {id} on {queue} to succeed"), || {
            let details = setup.status(id);
            (details["task"]["status"] == "success").then_some(details)
        });
        assert_eq!(details["task"]["queue"], *queue, "{details}");
        let worker = details["history"]
            .as_array()
            .expect("history")
            .iter()
            .find(|change| change["state"] == "in_progress")
            .and_then(|change| change["worker"].as_str())
            .unwrap_or_else(|| panic!("no worker recorded: {details}"))
            .to_owned();
        let expected = if *queue == "alpha" {
            &alpha_id
        } else {
            &beta_id
        };
        assert_eq!(&worker, expected, "task {id} of {queue} ran on {worker}");
    }
}

#[test]
fn tasks_run_only_on_the_workers_serving_their_queue_embedded() {
    each_queue_runs_on_its_own_worker(&Setup::embedded());
}

#[test]
fn tasks_run_only_on_the_workers_serving_their_queue_on_rabbitmq() {
    each_queue_runs_on_its_own_worker(&Setup::amqp(&["alpha", "beta"]));
}

#[test]
fn bad_queue_names_are_clear_errors() {
    let setup = Setup::embedded();
    let sent = run(setup.cogman().args(["send", "job", "--queue", "a/b"]));
    assert!(!sent.status.success());
    let said = String::from_utf8_lossy(&sent.stderr);
    assert!(said.contains("invalid queue name \"a/b\""), "{said}");
    let worker = run(setup
        .cogman()
        .args(["worker", "--handler", "job=cat", "--queue", ""]));
    assert!(!worker.status.success());
    let said = String::from_utf8_lossy(&worker.stderr);
    assert!(said.contains("queues"), "{said}");
    assert!(said.contains("invalid queue name"), "{said}");
}
