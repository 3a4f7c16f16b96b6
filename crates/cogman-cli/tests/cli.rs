//! Tests of the `cogman` binary run as real processes on the embedded SQLite file: the demo,
//! shell-command handlers, bad input, a worker killed with SIGKILL mid-task, and one client
//! process with two worker processes sharing the file.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use support::{assert_ran_again_after_kill, cogman, json, lines, run, stdout, wait_for};

fn status_of(dir: &Path, id: &str) -> Value {
    json(&run(cogman(dir).args(["status", id, "--json"])))
}

fn send(dir: &Path, args: &[&str]) -> String {
    stdout(&run(cogman(dir).arg("send").args(args)))
}

struct Worker(Child);

impl Worker {
    fn start(dir: &Path, handler: &str, lease: &str) -> Worker {
        Worker::start_many(dir, &[handler], lease)
    }

    fn start_many(dir: &Path, handlers: &[&str], lease: &str) -> Worker {
        let mut command = cogman(dir);
        command.env("COGMAN_LEASE", lease).arg("worker");
        for handler in handlers {
            command.args(["--handler", handler]);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("worker starts");
        Worker(child)
    }

    fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.0.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        self.0.wait().expect("worker exits")
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn demo_exits_zero_and_its_summary_matches_the_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let summary = json(&run(
        cogman(dir.path()).args(["demo", "--tasks", "60", "--json"])
    ));
    let expected = &summary["expected"];
    assert_eq!(summary["counts"]["success"], expected["success"]);
    assert_eq!(summary["counts"]["failed"], expected["failed"]);
    assert_eq!(summary["counts"]["retry"], expected["retry"]);
    assert!(
        expected["retry"].as_u64().unwrap_or(0) > 0 && expected["failed"].as_u64().unwrap_or(0) > 0
    );
    let listed = json(&run(
        cogman(dir.path()).args(["tasks", "--json", "--limit", "1000"])
    ));
    let items = listed["items"].as_array().expect("items");
    assert_eq!(
        items.len() as u64,
        summary["attempts"].as_u64().expect("attempts")
    );
    let successes = items.iter().filter(|t| t["status"] == "success").count() as u64;
    assert_eq!(successes, expected["success"].as_u64().expect("count"));
}

#[test]
fn a_worker_runs_shell_command_handlers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let worker = Worker::start_many(
        dir.path(),
        &["upper=tr a-z A-Z", "boom=echo oops >&2; exit 3"],
        "30s",
    );
    let id = send(
        dir.path(),
        &["upper", "--payload", "hello", "--priority", "high"],
    );
    let task = wait_for("the task to succeed", || {
        let task = status_of(dir.path(), &id);
        (task["task"]["status"] == "success").then_some(task)
    });
    assert_eq!(task["task"]["result_base64"], "SEVMTE8=", "base64 of HELLO");
    let failing = send(dir.path(), &["boom"]);
    let failed = wait_for("the failing command to be recorded", || {
        let task = status_of(dir.path(), &failing);
        (task["task"]["status"] == "failed").then_some(task)
    });
    let error = failed["task"]["fail_error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        error.contains("code 3") && error.contains("oops"),
        "{error}"
    );
    assert!(worker.terminate().success(), "graceful stop exits 0");
}

#[test]
fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad_config = run(cogman(dir.path())
        .env("COGMAN_CONCURRENCY", "0")
        .args(["tasks"]));
    assert!(!bad_config.status.success());
    assert!(String::from_utf8_lossy(&bad_config.stderr).contains("concurrency"));
    let unknown_var = run(cogman(dir.path())
        .env("COGMAN_AMQP", "amqp://x")
        .args(["tasks"]));
    assert!(String::from_utf8_lossy(&unknown_var.stderr).contains("COGMAN_AMQP"));
    let empty = run(cogman(dir.path()).args(["send", ""]));
    assert!(String::from_utf8_lossy(&empty.stderr).contains("task name is empty"));
    let big = run(cogman(dir.path())
        .env("COGMAN_MAX_PAYLOAD_BYTES", "4")
        .args(["send", "x", "--payload", "12345"]));
    assert!(
        String::from_utf8_lossy(&big.stderr).contains("payload is 5 bytes"),
        "{big:?}"
    );
    let priority = run(cogman(dir.path()).args(["send", "x", "--priority", "urgent"]));
    assert!(String::from_utf8_lossy(&priority.stderr).contains("invalid priority"));
    let listed = json(&run(cogman(dir.path()).args(["tasks", "--json"])));
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(0),
        "nothing was written"
    );
}

#[test]
fn a_worker_killed_mid_task_loses_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let started = dir.path().join("started.txt");
    let handler = format!(
        "job=echo $COGMAN_TASK_ID >> {p}; if [ $(wc -l < {p}) -lt 2 ]; then sleep 20; fi; echo ok",
        p = started.display()
    );
    let mut first = Worker::start(dir.path(), &handler, "1s");
    let id = send(dir.path(), &["job"]);
    wait_for("the first run to start", || {
        (lines(&started).len() == 1).then_some(())
    });
    first.0.kill().expect("SIGKILL the worker");
    let _ = first.0.wait();
    let _second = Worker::start(dir.path(), &handler, "1s");
    let task = wait_for("the task to succeed after its lease", || {
        let task = status_of(dir.path(), &id);
        (task["task"]["status"] == "success").then_some(task)
    });
    assert_ran_again_after_kill(&task, &started, &id);
}

#[test]
fn one_client_and_two_worker_processes_run_every_task_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let runs = dir.path().join("runs.txt");
    let handler = format!("count=echo $COGMAN_TASK_ID >> {}", runs.display());
    let _a = Worker::start(dir.path(), &handler, "30s");
    let _b = Worker::start(dir.path(), &handler, "30s");
    let ids: Vec<String> = (0..40)
        .map(|i| send(dir.path(), &["count", "--payload", &i.to_string()]))
        .collect();
    wait_for("every task to succeed", || {
        let listed =
            json(&run(cogman(dir.path()).args([
                "tasks", "--json", "--status", "success", "--limit", "1000",
            ])));
        (listed["items"].as_array().map(Vec::len) == Some(ids.len())).then_some(())
    });
    let mut ran = lines(&runs);
    assert_eq!(ran.len(), ids.len(), "no task ran twice");
    ran.sort();
    let mut sent = ids;
    sent.sort();
    assert_eq!(ran, sent);
}

/// `send --each-line -`: one task per line of stdin (a `\r\n` end and an empty line
/// included), each id printed in order, each payload the line without its end.
#[test]
fn send_each_line_sends_one_task_per_line_and_prints_their_ids_in_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = cogman(dir.path())
        .args(["send", "job", "--each-line", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cogman send starts");
    std::io::Write::write_all(
        child.stdin.as_mut().expect("stdin"),
        b"first\r\n\nthird line\nlast",
    )
    .expect("lines written");
    drop(child.stdin.take());
    let output = child.wait_with_output().expect("cogman send ends");
    let ids: Vec<String> = stdout(&output).lines().map(str::to_owned).collect();
    let payloads: Vec<String> = ids
        .iter()
        .map(|id| {
            stdout(&run(
                cogman(dir.path()).args(["status", id, "--raw", "payload"])
            ))
        })
        .collect();
    assert_eq!(payloads, ["first", "", "third line", "last"]);
    for id in &ids {
        assert_eq!(status_of(dir.path(), id)["task"]["status"], "queued");
    }
}

/// `send --each-line FILE` cannot be combined with a single task's payload or `--wait`.
#[test]
fn send_each_line_refuses_a_payload_and_wait() {
    let dir = tempfile::tempdir().expect("temp dir");
    for extra in [&["--payload", "x"][..], &["--wait"][..]] {
        let output = run(cogman(dir.path())
            .args(["send", "job", "--each-line", "f.txt"])
            .args(extra));
        assert!(!output.status.success(), "{extra:?} is refused");
        assert!(
            support::stderr(&output).contains("cannot be used with"),
            "{}",
            support::stderr(&output)
        );
    }
}
