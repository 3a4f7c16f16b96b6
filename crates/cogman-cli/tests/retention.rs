//! Retention as users run it: a `cogman worker` process with a short `sqlite.ttl` and
//! `purge_interval` (set through `COGMAN_*` variables) deletes finished tasks older than the
//! TTL from the SQLite file, and leaves unfinished ones (scheduled, running) alone. `crates/cogman-cli/tests/serve.rs` checks that
//! `cogman serve` purges too and counts it in `/metrics`.

mod support;

use std::path::Path;

use support::{WorkerProcess, cogman, run, stdout, wait_for};

/// `cogman status ID --json` when the task exists; `None` once it is gone.
fn status(dir: &Path, id: &str) -> Option<serde_json::Value> {
    let output = run(cogman(dir).args(["status", id, "--json"]));
    output
        .status
        .success()
        .then(|| serde_json::from_slice(&output.stdout).expect("valid JSON"))
}

fn send(dir: &Path, args: &[&str]) -> String {
    stdout(&run(cogman(dir).arg("send").args(args)))
}

#[test]
fn a_worker_process_purges_finished_tasks_older_than_the_ttl() {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir = dir.path();
    let done: Vec<String> = (0..3)
        .map(|_| send(dir, &["quick", "--payload", "x"]))
        .collect();
    let scheduled = send(dir, &["quick", "--payload", "x", "--delay", "1h"]);
    let started = dir.join("started");
    let held = send(dir, &["held", "--payload", "x"]);

    let mut command = cogman(dir);
    command
        .env("COGMAN_SQLITE_TTL", "1s")
        .env("COGMAN_PURGE_INTERVAL", "100ms")
        .args(["worker", "--handler", "quick=cat", "--handler"])
        .arg(format!(
            "held=touch {} && sleep 60",
            started.to_str().expect("a UTF-8 temp path")
        ));
    let mut worker = WorkerProcess::spawn(command, dir.join("worker.log"));
    wait_for("the held task to start", || started.exists().then_some(()));
    wait_for("the finished tasks to be purged", || {
        done.iter()
            .all(|id| status(dir, id).is_none())
            .then_some(())
    });
    for (id, state) in [(&scheduled, "scheduled"), (&held, "in_progress")] {
        let task = status(dir, id).unwrap_or_else(|| panic!("unfinished task {id} stays"));
        assert_eq!(task["task"]["status"], state, "{task}");
    }
    assert!(worker.is_alive(), "{}", worker.log());
    worker.kill9();
}
