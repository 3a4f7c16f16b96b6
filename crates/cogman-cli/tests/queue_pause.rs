//! Pausing named queues through the `cogman` binary, in the embedded mode (SQLite queue and
//! log) and the distributed one (RabbitMQ with the Redis, PostgreSQL and tiered logs):
//! `cogman queue pause work`, send tasks to `work`, start and restart workers — none of them
//! runs, while a probe task on `default` (served by the same workers) does; `cogman queue
//! resume work` — all of them run. Then a pause while a worker runs: tasks sent after it wait
//! until the resume.

mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;
use support::{
    Backends, OnBackends, Scratch, WorkerProcess, cogman, json, lines, run, stdout, wait_for,
};

/// Tasks sent to the paused queue at each step.
const N: usize = 8;

/// One test's directory and backends; every `cogman` it runs uses both.
struct Setup {
    dir: Scratch,
    on: OnBackends,
}

impl Setup {
    fn new(backends: Backends) -> Setup {
        let dir = Scratch::new();
        let mut on = backends.setup("qp", &dir.file("cogman.db"), &["work"]);
        on.vars
            .push(("COGMAN_LOG", "warn,cogman::worker=info".to_owned()));
        Setup { dir, on }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.file(name)
    }

    fn cogman(&self) -> Command {
        let mut command = cogman(self.dir.path());
        command.envs(self.on.vars.iter().map(|(k, v)| (*k, v.as_str())));
        command
    }

    /// A worker serving `work` and `default`; each run appends its payload to `runs.txt`.
    fn worker(&self, n: usize) -> WorkerProcess {
        let mut command = self.cogman();
        command.args([
            "worker",
            "--queue",
            "work",
            "--queue",
            "default",
            "--handler",
            &format!("job=echo \"$(cat)\" >> {}", self.file("runs.txt").display()),
        ]);
        WorkerProcess::spawn(command, self.file(&format!("worker{n}.log")))
    }

    fn send(&self, queue: &str, payload: &str) {
        let sent = run(self
            .cogman()
            .args(["send", "job", "--queue", queue, "--payload", payload]));
        stdout(&sent);
    }

    fn queue(&self, action: &str) {
        stdout(&run(self.cogman().args(["queue", action, "work"])));
    }

    fn runs(&self) -> Vec<String> {
        lines(&self.file("runs.txt"))
    }

    /// Sends a probe to `default` and waits until it ran: the worker consumes.
    fn probe(&self, label: &str) {
        self.send("default", label);
        wait_for(&format!("probe {label} to run"), || {
            self.runs().iter().any(|r| r == label).then_some(())
        });
    }

    fn work_runs(&self) -> usize {
        self.runs()
            .iter()
            .filter(|r| r.starts_with("work-"))
            .count()
    }

    fn paused(&self) -> Vec<String> {
        let listed: Value = json(&run(self.cogman().args(["queue", "list", "--json"])));
        listed
            .as_array()
            .expect("a list")
            .iter()
            .filter(|q| !q["paused_since"].is_null())
            .map(|q| q["name"].as_str().expect("a name").to_owned())
            .collect()
    }
}

fn pause_survives_restarts_and_resume_runs_all(backends: Backends) {
    let setup = Setup::new(backends);
    setup.queue("pause");
    assert_eq!(setup.paused(), ["work"]);
    for i in 0..N {
        setup.send("work", &format!("work-{i}"));
    }
    let mut first = setup.worker(1);
    setup.probe("probe-1");
    assert_eq!(setup.work_runs(), 0, "a paused queue delivers nothing");

    // A restart reads the pause again before it consumes.
    first.terminate();
    let second = setup.worker(2);
    setup.probe("probe-2");
    assert_eq!(setup.work_runs(), 0, "still paused after a restart");
    assert_eq!(setup.paused(), ["work"]);

    setup.queue("resume");
    assert!(setup.paused().is_empty());
    wait_for("every task of the resumed queue to run", || {
        (setup.work_runs() == N).then_some(())
    });

    // Paused while the worker runs: it notices, and tasks sent after wait for the resume.
    setup.queue("pause");
    wait_for("the worker to follow the pause", || {
        (second.log_count("paused queues changed") >= 2).then_some(())
    });
    for i in N..2 * N {
        setup.send("work", &format!("work-{i}"));
    }
    setup.probe("probe-3");
    assert_eq!(setup.work_runs(), N, "nothing of the paused queue ran");
    setup.queue("resume");
    wait_for("the tasks sent while paused to run", || {
        (setup.work_runs() == 2 * N).then_some(())
    });
    let mut ran = setup.runs();
    ran.retain(|r| r.starts_with("work-"));
    ran.sort();
    ran.dedup();
    assert_eq!(ran.len(), 2 * N, "each task ran");
}

#[test]
fn embedded_pause_survives_restarts_and_resume_runs_all() {
    pause_survives_restarts_and_resume_runs_all(Backends::Embedded);
}

#[test]
fn rabbitmq_redis_pause_survives_restarts_and_resume_runs_all() {
    pause_survives_restarts_and_resume_runs_all(Backends::Redis);
}

#[test]
fn rabbitmq_postgres_pause_survives_restarts_and_resume_runs_all() {
    pause_survives_restarts_and_resume_runs_all(Backends::Postgres);
}

#[test]
fn rabbitmq_tiered_pause_survives_restarts_and_resume_runs_all() {
    pause_survives_restarts_and_resume_runs_all(Backends::Tiered);
}

#[test]
fn a_bad_queue_name_is_refused() {
    let setup = Setup::new(Backends::Embedded);
    let refused = run(setup.cogman().args(["queue", "pause", "no spaces"]));
    assert!(!refused.status.success());
    assert!(
        support::stderr(&refused).contains("invalid queue name"),
        "{}",
        support::stderr(&refused)
    );
}
