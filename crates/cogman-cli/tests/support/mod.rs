//! Shared by the CLI's test binaries (`cli`, `serve`, `distributed_processes`, `partition`,
//! `bench`):
//! the `cogman` binary on a temp SQLite file with no `COGMAN_*` variables from the
//! environment, reading what it printed, and worker processes ([`WorkerProcess`]).

#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod amqp;
mod backends;
mod dist;
mod worker_process;
#[allow(unused_imports)]
pub use amqp::{amqp_cleanup, amqp_cleanup_with, amqp_vars};
#[allow(unused_imports)]
pub use backends::{Backends, OnBackends, Scratch};
#[allow(unused_imports)]
pub use dist::{AMQP, Dist, POSTGRES, REDIS};
#[allow(unused_imports)]
pub use worker_process::{Frozen, WorkerProcess, send_signal};

/// How long a test waits for an event.
pub const WAIT: Duration = Duration::from_secs(60);

/// `cogman`, run in `dir`, without the caller's `COGMAN_*` variables (and so on
/// `<dir>/cogman.db` unless told otherwise).
pub fn cogman_in(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cogman"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("COGMAN_")) {
        command.env_remove(key);
    }
    command.current_dir(dir);
    command
}

/// `cogman --db <dir>/cogman.db`, run in `dir`, without the caller's `COGMAN_*` variables.
pub fn cogman(dir: &Path) -> Command {
    let mut command = cogman_in(dir);
    command.arg("--db").arg(dir.join("cogman.db"));
    command
}

/// The standard error of a run, as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `command` to the end with no stdin.
pub fn run(command: &mut Command) -> Output {
    command.stdin(Stdio::null()).output().expect("cogman runs")
}

/// The standard output of a successful run, trimmed (fails the test, showing stderr, when
/// the run failed).
pub fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "cogman failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The standard output of a successful run, as JSON.
pub fn json(output: &Output) -> Value {
    serde_json::from_str(&stdout(output)).expect("valid JSON")
}

/// Polls `f` until it returns Some, failing the test after [`WAIT`].
pub fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(value) = f() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The lines of a file a handler appends to (empty when it does not exist yet).
pub fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// After a worker was killed mid-task: the same attempt ran again to success (no retry
/// spent), the handler started exactly twice for it, and the history (`status --json`) shows
/// both runs: `in_progress` by the killed worker, then a `rerun` note by the one that finished.
pub fn assert_ran_again_after_kill(task: &Value, started: &Path, id: &str) {
    assert_eq!(
        task["task"]["attempt"], 0,
        "the same attempt ran again; no retry was spent"
    );
    assert_eq!(
        lines(started),
        vec![id.to_owned(), id.to_owned()],
        "started twice: killed once, then finished"
    );
    let history = task["history"].as_array().cloned().unwrap_or_default();
    fn in_state<'a>(history: &'a [Value], state: &str) -> Vec<&'a Value> {
        history.iter().filter(|e| e["state"] == state).collect()
    }
    let runs = in_state(&history, "in_progress");
    assert_eq!(runs.len(), 2, "the history shows both runs: {history:#?}");
    assert!(
        runs[0].get("note").is_none(),
        "the first run started it: {history:#?}"
    );
    assert_eq!(
        runs[1]["note"], "rerun",
        "the second run is a rerun note: {history:#?}"
    );
    assert_ne!(
        runs[0]["worker"], runs[1]["worker"],
        "each run names its own worker: {history:#?}"
    );
    let finished = in_state(&history, "success");
    assert_eq!(
        finished.first().map(|e| &e["worker"]),
        Some(&runs[1]["worker"]),
        "the rerun's worker finished it: {history:#?}"
    );
}

/// Prints every `*.log` file in `dir` (the logs of a test's processes); tests call it when
/// they fail, from a `Drop` while panicking.
pub fn print_logs(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "log") {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            eprintln!("--- {} ---\n{text}", path.display());
        }
    }
}

/// `GET url` with a bearer token over a plain TCP connection: the status code and the body.
pub fn http_get(url: &str, token: Option<&str>) -> (u16, String) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mut stream = TcpStream::connect(host).expect("connects");
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}Connection: close\r\n\r\n"
    )
    .expect("request sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer read");
    cogman_testkit::http::status_and_body(&answer)
}
