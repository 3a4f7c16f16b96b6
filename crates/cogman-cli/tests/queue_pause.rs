//! Pausing named queues through the `cogman` binary, in the embedded mode (SQLite queue and
//! log) and the distributed one (RabbitMQ with the Redis, PostgreSQL and tiered logs):
//! `cogman queue pause work`, send tasks to `work`, start and restart workers — none of them
//! runs, while a probe task on `default` (served by the same workers) does; `cogman queue
//! resume work` — all of them run. Then a pause while a worker runs: tasks sent after it wait
//! until the resume.

mod support;

use std::path::PathBuf;
use std::process::Command;

use cogman_testkit::servers::SharedCleanup;
use serde_json::Value;
use support::{WorkerProcess, cogman, json, lines, run, stdout, wait_for};

const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";
const REDIS: &str = "redis://127.0.0.1:6379";
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Tasks sent to the paused queue at each step.
const N: usize = 8;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Embedded,
    Redis,
    Postgres,
    Tiered,
}

struct Setup {
    dir: tempfile::TempDir,
    vars: Vec<(&'static str, String)>,
    _cleanup: Option<SharedCleanup>,
}

impl Drop for Setup {
    fn drop(&mut self) {
        if std::thread::panicking() {
            support::print_logs(self.dir.path());
        }
    }
}

impl Setup {
    fn new(mode: Mode) -> Setup {
        let id = cogman::TaskId::new().as_uuid().simple().to_string();
        let name = format!("qp_{}", &id[id.len() - 12..]);
        let mut vars = vec![("COGMAN_LOG", "warn,cogman::worker=info".to_owned())];
        let mut cleanup = None;
        if mode != Mode::Embedded {
            vars.push(("COGMAN_AMQP_URI", AMQP.to_owned()));
            vars.push(("COGMAN_AMQP_QUEUE_PREFIX", format!("{name}.")));
            let mut c = support::amqp_cleanup_with(AMQP, &format!("{name}."), &["work"]);
            if matches!(mode, Mode::Redis | Mode::Tiered) {
                vars.push(("COGMAN_REDIS_URI", REDIS.to_owned()));
                vars.push(("COGMAN_REDIS_NAMESPACE", name.clone()));
                c = c.redis_namespace(REDIS, &name);
            }
            if matches!(mode, Mode::Postgres | Mode::Tiered) {
                vars.push(("COGMAN_POSTGRES_URI", POSTGRES.to_owned()));
                vars.push(("COGMAN_POSTGRES_SCHEMA", name.clone()));
                c = c.postgres_schema(POSTGRES, &name);
            }
            cleanup = Some(c);
        }
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
            vars,
            _cleanup: cleanup,
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cogman(&self) -> Command {
        let mut command = cogman(self.dir.path());
        command.envs(self.vars.iter().map(|(k, v)| (*k, v.as_str())));
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

fn pause_survives_restarts_and_resume_runs_all(mode: Mode) {
    let setup = Setup::new(mode);
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
    pause_survives_restarts_and_resume_runs_all(Mode::Embedded);
}

#[test]
fn rabbitmq_redis_pause_survives_restarts_and_resume_runs_all() {
    pause_survives_restarts_and_resume_runs_all(Mode::Redis);
}

#[test]
fn rabbitmq_postgres_pause_survives_restarts_and_resume_runs_all() {
    pause_survives_restarts_and_resume_runs_all(Mode::Postgres);
}

#[test]
fn rabbitmq_tiered_pause_survives_restarts_and_resume_runs_all() {
    pause_survives_restarts_and_resume_runs_all(Mode::Tiered);
}

#[test]
fn a_bad_queue_name_is_refused() {
    let setup = Setup::new(Mode::Embedded);
    let refused = run(setup.cogman().args(["queue", "pause", "no spaces"]));
    assert!(!refused.status.success());
    assert!(
        support::stderr(&refused).contains("invalid queue name"),
        "{}",
        support::stderr(&refused)
    );
}
