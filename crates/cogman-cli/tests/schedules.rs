//! Periodic tasks through the `cogman` binary: three `cogman worker` processes run the
//! scheduler on one log — the embedded SQLite file, PostgreSQL or Redis — and an `every 1s`
//! schedule added with
//! `cogman schedule add` is sent once per slot: 10 ± 1 runs in 10 s, no slot twice; after the leader is killed with SIGKILL another
//! process sends the next slots within the lease time, none doubled. Handlers append
//! `$COGMAN_PRIMARY_KEY $COGMAN_TASK_ID` (the key names the slot) to a file. Also: a bad cron
//! expression is refused with a clear error, and `[[schedule]]` tables of a config file run.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use cogman_testkit::servers::SharedCleanup;
use support::{WorkerProcess, cogman, lines, print_logs, run, stderr, stdout, wait_for};

const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
const REDIS: &str = "redis://127.0.0.1:6379";
/// The scheduler lease of the test's processes.
const LEASE: Duration = Duration::from_secs(3);

/// Which task log the processes share (the queue is the SQLite file in every case).
#[derive(Clone, Copy)]
enum Log {
    Sqlite,
    Postgres,
    Redis,
}

struct Setup {
    dir: tempfile::TempDir,
    vars: Vec<(&'static str, String)>,
    _cleanup: Option<SharedCleanup>,
}

impl Setup {
    fn new(log: Log) -> Setup {
        let id = cogman::TaskId::new().as_uuid().simple().to_string();
        let name = format!("sched_{}", &id[id.len() - 12..]);
        let mut vars = vec![
            ("COGMAN_SCHEDULER_LEASE", "3s".to_owned()),
            ("COGMAN_LOG", "info".to_owned()),
        ];
        let cleanup = match log {
            Log::Sqlite => None,
            Log::Postgres => {
                vars.push(("COGMAN_POSTGRES_URI", POSTGRES.to_owned()));
                vars.push(("COGMAN_POSTGRES_SCHEMA", name.clone()));
                Some(SharedCleanup::new().postgres_schema(POSTGRES, &name))
            }
            Log::Redis => {
                vars.push(("COGMAN_REDIS_URI", REDIS.to_owned()));
                vars.push(("COGMAN_REDIS_NAMESPACE", name.clone()));
                Some(SharedCleanup::new().redis_namespace(REDIS, &name))
            }
        };
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
            vars,
            _cleanup: cleanup,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn cogman(&self) -> Command {
        let mut command = cogman(self.path());
        command.envs(self.vars.iter().map(|(k, v)| (*k, v.as_str())));
        command
    }

    fn worker(&self, n: usize) -> WorkerProcess {
        let mut command = self.cogman();
        let runs = self.path().join("runs.txt");
        command.args([
            "worker",
            "--quiet",
            "--handler",
            &format!(
                "tick=echo \"$COGMAN_PRIMARY_KEY $COGMAN_TASK_ID\" >> {}",
                runs.display()
            ),
        ]);
        WorkerProcess::spawn(command, self.path().join(format!("worker{n}.log")))
    }

    /// Each slot run so far, with the distinct task ids that ran for it.
    fn runs(&self) -> BTreeMap<DateTime<Utc>, BTreeSet<String>> {
        let mut runs: BTreeMap<DateTime<Utc>, BTreeSet<String>> = BTreeMap::new();
        for line in lines(&self.path().join("runs.txt")) {
            let (key, task) = line.split_once(' ').expect("key and task id");
            let slot = key
                .strip_prefix("schedule:tick@")
                .expect("a slot key")
                .parse()
                .expect("slot time");
            runs.entry(slot).or_default().insert(task.to_owned());
        }
        runs
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        if std::thread::panicking() {
            print_logs(self.path());
        }
    }
}

fn assert_no_slot_twice(runs: &BTreeMap<DateTime<Utc>, BTreeSet<String>>) {
    for (slot, tasks) in runs {
        assert_eq!(tasks.len(), 1, "slot {slot} was sent as {tasks:?}");
    }
}

fn three_workers_send_each_slot_once(log: Log) {
    let setup = Setup::new(log);
    let added = run(setup
        .cogman()
        .args(["schedule", "add", "tick", "--task", "tick", "--every", "1s"]));
    assert_eq!(stdout(&added), "tick");
    let mut workers: Vec<WorkerProcess> = (0..3).map(|n| setup.worker(n)).collect();

    // 10 s of slots from the first one run.
    let first = wait_for("the first slot to run", || {
        setup.runs().keys().next().copied()
    });
    let end = first + TimeDelta::seconds(10);
    wait_for("10 s of slots", || {
        setup.runs().range(end..).next().map(|_| ())
    });
    let runs = setup.runs();
    assert_no_slot_twice(&runs);
    let in_window = runs.range(first..end).count();
    assert!(
        (9..=11).contains(&in_window),
        "{in_window} runs in 10 s of an every-1s schedule"
    );

    // Exactly one process leads; kill it.
    let leaders: Vec<usize> = workers
        .iter()
        .enumerate()
        .filter(|(_, w)| w.log_count("leading=true") > w.log_count("leading=false"))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(leaders.len(), 1, "one leader among the three");
    let killed_at = Utc::now();
    let started = Instant::now();
    workers[leaders[0]].kill9();

    // Another process sends the slots after the kill, the first within the lease time
    // (plus a follower's poll, a quarter of it, and a second of slack for a loaded machine).
    wait_for("a slot after the kill", || {
        setup
            .runs()
            .range(killed_at + TimeDelta::milliseconds(1)..)
            .next()
            .map(|_| ())
    });
    let took = started.elapsed();
    assert!(
        took <= LEASE + LEASE / 4 + Duration::from_secs(2),
        "the next slot ran {took:?} after the leader died"
    );
    let later = killed_at + TimeDelta::seconds(8);
    wait_for("8 s of slots after the kill", || {
        setup.runs().range(later..).next().map(|_| ())
    });
    let runs = setup.runs();
    assert_no_slot_twice(&runs);
    // Slots stay on time for twice the lease, so the failover missed none (one slot may be
    // lost if the leader died between its claim and its send).
    let after_kill = runs.range(killed_at - TimeDelta::seconds(1)..later).count();
    assert!(
        after_kill >= 8,
        "{after_kill} of the 9 slots around the kill ran"
    );
    let survivor = workers
        .iter()
        .enumerate()
        .filter(|(i, w)| *i != leaders[0] && w.log_count("leading=true") > 0)
        .count();
    assert_eq!(survivor, 1, "one of the two survivors took over");
    let _ = &mut workers;
}

#[test]
fn three_sqlite_workers_send_each_slot_once_and_fail_over() {
    three_workers_send_each_slot_once(Log::Sqlite);
}

#[test]
fn three_postgres_workers_send_each_slot_once_and_fail_over() {
    three_workers_send_each_slot_once(Log::Postgres);
}

#[test]
fn three_redis_workers_send_each_slot_once_and_fail_over() {
    three_workers_send_each_slot_once(Log::Redis);
}

#[test]
fn bad_cron_and_zone_are_refused_with_the_reason() {
    let setup = Setup::new(Log::Sqlite);
    let out = run(setup.cogman().args([
        "schedule",
        "add",
        "x",
        "--task",
        "t",
        "--cron",
        "*/5 * * * *",
    ]));
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("invalid cron expression \"*/5 * * * *\": expected 6 fields"),
        "{}",
        stderr(&out)
    );
    let out = run(setup.cogman().args([
        "schedule",
        "add",
        "x",
        "--task",
        "t",
        "--cron",
        "0 0 * * * *",
        "--tz",
        "Mars/Base",
    ]));
    assert!(
        stderr(&out).contains("unknown time zone \"Mars/Base\""),
        "{}",
        stderr(&out)
    );
    let out = run(setup
        .cogman()
        .args(["schedule", "add", "x y", "--task", "t", "--every", "1s"]));
    assert!(
        stderr(&out).contains("invalid schedule id"),
        "{}",
        stderr(&out)
    );
    let out = run(setup.cogman().args(["schedule", "pause", "nope"]));
    assert!(!out.status.success());
}

#[test]
fn config_file_schedules_run_and_pause_survives_a_restart() {
    let setup = Setup::new(Log::Sqlite);
    let config = setup.path().join("cogman.toml");
    std::fs::write(
        &config,
        "[[schedule]]\nid = \"tick\"\nevery = \"1s\"\ntask = \"tick\"\npayload = \"x\"\n",
    )
    .expect("config");
    let mut worker = config_worker(&setup, &config, "worker.log");
    wait_for("two slots of the config's schedule", || {
        (setup.runs().len() >= 2).then_some(())
    });
    let listed = stdout(&run(setup.cogman().args(["schedule", "list", "--json"])));
    let listed: serde_json::Value = serde_json::from_str(&listed).expect("json");
    assert_eq!(listed[0]["schedule"]["id"], "tick");
    assert!(listed[0]["last_run"]["task_id"].is_string(), "{listed}");
    assert!(listed[0]["next_run"].is_string(), "{listed}");
    stdout(&run(setup.cogman().args(["schedule", "pause", "tick"])));
    worker.terminate();
    // Started again with the same file, the worker keeps the pause set at run time.
    let restarted = config_worker(&setup, &config, "worker2.log");
    wait_for("the restarted worker to lead", || {
        (restarted.log_count("leading=true") > 0).then_some(())
    });
    let listed = stdout(&run(setup.cogman().args(["schedule", "list"])));
    assert!(listed.contains("paused"), "{listed}");
}

fn config_worker(setup: &Setup, config: &Path, log: &str) -> WorkerProcess {
    let mut command = setup.cogman();
    command.arg("--config").arg(config);
    let runs = setup.path().join("runs.txt");
    command.args([
        "worker",
        "--quiet",
        "--handler",
        &format!(
            "tick=echo \"$COGMAN_PRIMARY_KEY $COGMAN_TASK_ID\" >> {}",
            runs.display()
        ),
    ]);
    WorkerProcess::spawn(command, setup.path().join(log))
}
