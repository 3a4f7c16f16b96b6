//! The handler contract of `cogman worker`, tested through the binary on the embedded SQLite
//! file: payloads stream through a command, each command runs in a process group of its own
//! that timeout, cancel and worker shutdown stop as a whole (checked with `ps`), and results
//! have a size limit.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use serde_json::Value;

use support::{WorkerProcess, cogman, json, run, stdout, wait_for};

fn status_of(dir: &Path, id: &str) -> Value {
    json(&run(cogman(dir).args(["status", id, "--json"])))
}

fn send(dir: &Path, args: &[&str]) -> String {
    stdout(&run(cogman(dir).arg("send").args(args)))
}

/// A `cogman worker` with these handlers (and `env` set), its log in `dir/worker.log`.
fn worker(dir: &Path, handlers: &[&str], env: &[(&str, &str)]) -> WorkerProcess {
    let mut command = cogman(dir);
    command.envs(env.iter().copied()).arg("worker");
    for handler in handlers {
        command.args(["--handler", handler]);
    }
    WorkerProcess::spawn(command, dir.join("worker.log"))
}

/// Waits for the task to reach one of `states`; returns its record.
fn wait_state(dir: &Path, id: &str, states: &[&str]) -> Value {
    wait_for(&format!("task {id} to be {states:?}"), || {
        let task = status_of(dir, id);
        let status = task["task"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        states.contains(&status.as_str()).then_some(task)
    })
}

/// The processes of process group `group` that are not yet dead (zombies are dead: only their
/// exit status waits to be collected), as `ps` lines.
fn live_members(group: i32) -> Vec<String> {
    let listing = Command::new("ps")
        .args(["-A", "-o", "pgid=,stat=,pid=,args="])
        .output()
        .expect("ps runs");
    String::from_utf8_lossy(&listing.stdout)
        .lines()
        .filter(|line| {
            let mut fields = line.split_whitespace();
            fields.next().and_then(|g| g.parse::<i32>().ok()) == Some(group)
                && !fields.next().is_some_and(|stat| stat.starts_with('Z'))
        })
        .map(str::to_owned)
        .collect()
}

/// The process group a handler wrote (`echo $$ > FILE`: its `sh` leads the group), once the
/// group runs a `sleep`.
fn running_group(pgid_file: &Path) -> i32 {
    wait_for("the handler's process group to run its sleep", || {
        let group = std::fs::read_to_string(pgid_file)
            .ok()?
            .trim()
            .parse()
            .ok()?;
        live_members(group)
            .iter()
            .any(|line| line.contains("sleep"))
            .then_some(group)
    })
}

/// A handler that writes its process group to `file`, then runs `body`.
fn group_handler(name: &str, file: &Path, body: &str) -> String {
    format!("{name}=echo $$ > {}; {body}", file.display())
}

fn pgid_file(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}.pgid"))
}

#[test]
fn a_megabyte_payload_streams_through_a_shell_handler() {
    let dir = tempfile::tempdir().expect("temp dir");
    let _worker = worker(dir.path(), &["upper=tr a-z A-Z"], &[]);
    let payload: Vec<u8> = b"abcdefghijklmnopqrstuvwxyz0123456789\n"
        .iter()
        .copied()
        .cycle()
        .take(1_000_000)
        .collect();
    let file = dir.path().join("payload.txt");
    std::fs::write(&file, &payload).expect("write payload");
    let id = send(
        dir.path(),
        &["upper", "--payload-file", &file.display().to_string()],
    );
    let task = wait_state(dir.path(), &id, &["success", "failed", "retry"]);
    assert_eq!(
        task["task"]["status"], "success",
        "{}",
        task["task"]["fail_error"]
    );
    let result = base64::engine::general_purpose::STANDARD
        .decode(task["task"]["result_base64"].as_str().expect("a result"))
        .expect("base64 result");
    assert_eq!(result, payload.to_ascii_uppercase());
}

#[test]
fn a_timed_out_handler_leaves_no_process_of_its_group() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (bg, nested) = (pgid_file(dir.path(), "bg"), pgid_file(dir.path(), "nested"));
    let _worker = worker(
        dir.path(),
        &[
            &group_handler("bg", &bg, "sleep 300 & wait"),
            &group_handler("nested", &nested, "sh -c 'sleep 300'"),
        ],
        &[],
    );
    for (name, file) in [("bg", &bg), ("nested", &nested)] {
        let id = send(dir.path(), &[name, "--timeout", "2s"]);
        let group = running_group(file);
        let task = wait_state(dir.path(), &id, &["failed"]);
        let error = task["task"]["fail_error"].as_str().unwrap_or_default();
        assert!(error.contains("timed out"), "{name}: {error}");
        assert_eq!(
            live_members(group),
            Vec::<String>::new(),
            "{name}: no process of the handler outlives its attempt"
        );
    }
}

#[test]
fn a_handler_that_ignores_sigterm_is_killed_after_the_grace_period() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = pgid_file(dir.path(), "stubborn");
    let _worker = worker(
        dir.path(),
        &[&group_handler(
            "stubborn",
            &file,
            "trap '' TERM; sleep 300 & wait",
        )],
        &[("COGMAN_KILL_GRACE", "1s")],
    );
    let id = send(dir.path(), &["stubborn", "--timeout", "1s"]);
    let group = running_group(&file);
    wait_state(dir.path(), &id, &["failed"]);
    // SIGKILL was sent before the outcome was recorded; the kernel may take a moment to end
    // the processes, never anything near the 300 s they would otherwise sleep.
    wait_for("the SIGTERM-proof group to be killed", || {
        live_members(group).is_empty().then_some(())
    });
}

#[test]
fn cancel_and_worker_shutdown_stop_the_whole_group() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = pgid_file(dir.path(), "long");
    let mut worker = worker(
        dir.path(),
        &[&group_handler("long", &file, "sleep 300 & wait")],
        &[("COGMAN_SHUTDOWN_GRACE", "1s")],
    );
    let cancelled = send(dir.path(), &["long"]);
    let group = running_group(&file);
    stdout(&run(cogman(dir.path()).args(["cancel", &cancelled])));
    wait_state(dir.path(), &cancelled, &["cancelled"]);
    wait_for("the cancelled attempt's group to stop", || {
        live_members(group).is_empty().then_some(())
    });
    std::fs::remove_file(&file).expect("remove the pgid file");
    let interrupted = send(dir.path(), &["long"]);
    let group = running_group(&file);
    assert!(worker.terminate().success(), "graceful stop exits 0");
    assert_eq!(
        live_members(group),
        Vec::<String>::new(),
        "the worker stopped only once its handler's group was gone"
    );
    let task = status_of(dir.path(), &interrupted);
    assert_ne!(task["task"]["status"], "success", "{task}");
}

#[test]
fn a_result_over_the_limit_fails_the_attempt_and_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let _worker = worker(dir.path(), &["big=head -c 5000000 /dev/zero"], &[]);
    let id = send(dir.path(), &["big", "--retry", "2"]);
    let task = wait_state(dir.path(), &id, &["failed", "retry", "success"]);
    assert_eq!(task["task"]["status"], "failed", "not retried: {task}");
    let error = task["task"]["fail_error"].as_str().unwrap_or_default();
    assert!(
        error.contains("result limit") && error.contains("max_result_bytes"),
        "{error}"
    );
    assert!(
        task["task"]["result_base64"].is_null(),
        "nothing stored: {task}"
    );
}
