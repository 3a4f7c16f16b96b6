//! Unique tasks through the `cogman` binary (docs/scheduling.md): many `cogman send
//! --unique-key` processes started at once create exactly one task — on the embedded SQLite
//! file, with the log in PostgreSQL (`COGMAN_POSTGRES_URI`) and in Redis (`COGMAN_REDIS_URI`)
//! — and print its id; a key held "until finished" is free once a worker ran the task; a key
//! held with `--unique-for` is free once its time is up.

mod support;

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};

use cogman_testkit::servers::SharedCleanup;
use support::{WorkerProcess, cogman_in, json, run, stderr, stdout, wait_for};

const REDIS: &str = "redis://127.0.0.1:6379";
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// `cogman` processes sending one key at once.
const SENDERS: usize = 12;

/// Where the log is: the variables every process gets.
type Vars = Vec<(&'static str, String)>;

fn cogman(dir: &Path, vars: &Vars) -> Command {
    let mut command = cogman_in(dir);
    command.envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
    command
}

/// A name no other test uses, for a schema or namespace.
fn unique_name(label: &str) -> String {
    let id = cogman::TaskId::new().as_uuid().simple().to_string();
    format!("u_{label}_{}", &id[id.len() - 12..])
}

/// Starts [`SENDERS`] `cogman send NAME --unique-key KEY` processes together and returns what
/// each printed: (id on stdout, stderr).
fn send_together(dir: &Path, vars: &Vars, name: &str, key: &str) -> Vec<(String, String)> {
    let children: Vec<_> = (0..SENDERS)
        .map(|_| {
            cogman(dir, vars)
                .args(["send", name, "--unique-key", key])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("cogman send starts")
        })
        .collect();
    children
        .into_iter()
        .map(|child| {
            let output = child.wait_with_output().expect("cogman send ends");
            (stdout(&output), stderr(&output))
        })
        .collect()
}

/// Every task named `name` in the log, as `cogman tasks --json` lists them.
fn tasks_named(dir: &Path, vars: &Vars, name: &str) -> Vec<serde_json::Value> {
    let listed =
        json(&run(cogman(dir, vars).args([
            "tasks", "--name", name, "--limit", "1000", "--json",
        ])));
    listed["items"].as_array().expect("items").clone()
}

/// The concurrent senders agree on one id, all but one say it was a duplicate, and the log
/// holds exactly one task of that name.
fn one_task_from_concurrent_senders(dir: &Path, vars: &Vars) {
    let sent = send_together(dir, vars, "unique.job", "report-2026-12-03");
    let ids: HashSet<&str> = sent.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids.len(),
        1,
        "every sender prints the one task's id: {sent:?}"
    );
    let duplicates = sent
        .iter()
        .filter(|(_, err)| err.contains("already holds this unique key"))
        .count();
    assert_eq!(duplicates, SENDERS - 1, "{sent:?}");
    let tasks = tasks_named(dir, vars, "unique.job");
    assert_eq!(tasks.len(), 1, "exactly one task was created: {tasks:?}");
    assert_eq!(tasks[0]["id"], *ids.iter().next().expect("an id"));
}

#[test]
fn concurrent_send_processes_create_one_task_embedded() {
    let dir = tempfile::tempdir().expect("tempdir");
    one_task_from_concurrent_senders(dir.path(), &Vars::new());
}

#[test]
fn concurrent_send_processes_create_one_task_with_postgres() {
    let dir = tempfile::tempdir().expect("tempdir");
    let schema = unique_name("pg");
    let _cleanup = SharedCleanup::new().postgres_schema(POSTGRES, &schema);
    let vars = vec![
        ("COGMAN_POSTGRES_URI", POSTGRES.to_owned()),
        ("COGMAN_POSTGRES_SCHEMA", schema),
    ];
    one_task_from_concurrent_senders(dir.path(), &vars);
}

#[test]
fn concurrent_send_processes_create_one_task_with_redis() {
    let dir = tempfile::tempdir().expect("tempdir");
    let namespace = unique_name("redis");
    let _cleanup = SharedCleanup::new().redis_namespace(REDIS, &namespace);
    let vars = vec![
        ("COGMAN_REDIS_URI", REDIS.to_owned()),
        ("COGMAN_REDIS_NAMESPACE", namespace),
    ];
    one_task_from_concurrent_senders(dir.path(), &vars);
}

fn send(dir: &Path, args: &[&str]) -> (String, bool) {
    let output = run(cogman(dir, &Vars::new()).arg("send").args(args));
    let duplicate = stderr(&output).contains("already holds this unique key");
    (stdout(&output), duplicate)
}

#[test]
fn a_key_held_until_finished_is_free_once_the_task_ran() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (first, dup) = send(dir.path(), &["unique.once", "--unique-key", "k1"]);
    assert!(!dup);
    assert_eq!(
        send(dir.path(), &["unique.once", "--unique-key", "k1"]),
        (first.clone(), true),
        "held while the task waits"
    );
    // Another key is independent.
    let (other, dup) = send(dir.path(), &["unique.once", "--unique-key", "k2"]);
    assert!(!dup && other != first);

    let mut command = cogman(dir.path(), &Vars::new());
    command.args(["worker", "--quiet", "--handler", "unique.once=cat"]);
    let _worker = WorkerProcess::spawn(command, dir.path().join("worker.log"));
    let again = wait_for("the key to be released after the task ran", || {
        let status = json(&run(
            cogman(dir.path(), &Vars::new()).args(["status", &first, "--json"])
        ));
        if status["task"]["status"] != "success" {
            return None;
        }
        let (id, dup) = send(dir.path(), &["unique.once", "--unique-key", "k1"]);
        (!dup).then_some(id)
    });
    assert_ne!(again, first, "a new task holds the released key");
}

#[test]
fn a_key_held_for_a_time_is_free_once_it_is_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let args = ["unique.timed", "--unique-key", "t", "--unique-for", "1s"];
    let (first, dup) = send(dir.path(), &args);
    assert!(!dup);
    assert_eq!(send(dir.path(), &args), (first.clone(), true));
    let again = wait_for("the timed key to expire", || {
        let (id, dup) = send(dir.path(), &args);
        (!dup).then_some(id)
    });
    assert_ne!(again, first);
    // Refused input: a hold time without a key, and a key with a control character.
    let bad = run(cogman(dir.path(), &Vars::new()).args(["send", "x", "--unique-for", "1s"]));
    assert!(!bad.status.success());
    let bad = run(cogman(dir.path(), &Vars::new()).args(["send", "x", "--unique-key", "a\u{1}b"]));
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("unique key"), "{}", stderr(&bad));
}
