//! How the `cogman` binary reads its configuration, run as real processes on a temp SQLite
//! file: config sections as TOML tables and `COGMAN_<SECTION>_<FIELD>` variables, errors that
//! name the field and where its value came from, an empty `COGMAN_CONFIG`, an exported
//! `COGMAN_SERVER` next to `worker` and `serve`, and a handler that runs `cogman send`.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use support::{WorkerProcess, cogman, json, run, stdout, wait_for};

/// `cogman` run in `dir` without `--db` and without the caller's `COGMAN_*` variables.
fn cogman_bare(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cogman"));
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("COGMAN_")) {
        command.env_remove(key);
    }
    command.current_dir(dir);
    command
}

fn stderr_of(command: &mut Command) -> String {
    let output = run(command);
    assert!(!output.status.success(), "expected a failure: {output:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Waits until the task `id` in `dir`'s database finished, and returns its status.
fn wait_finished(dir: &Path, id: &str) -> String {
    wait_for(&format!("task {id} to finish"), || {
        let shown = json(&run(cogman(dir).args(["status", id, "--json"])));
        let status = shown["task"]["status"].as_str()?.to_owned();
        ["success", "failed", "cancelled"]
            .contains(&status.as_str())
            .then_some(status)
    })
}

#[test]
fn sections_are_tables_in_the_file_and_variables_override_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("cogman.toml"),
        "concurrency = 2\n[sqlite]\npath = \"from-file.db\"\n",
    )
    .expect("config file");
    stdout(&run(cogman_bare(dir.path()).args([
        "--config",
        "cogman.toml",
        "send",
        "a",
    ])));
    assert!(
        dir.path().join("from-file.db").exists(),
        "the file's [sqlite] path"
    );
    stdout(&run(cogman_bare(dir.path())
        .env("COGMAN_CONFIG", "cogman.toml")
        .env("COGMAN_SQLITE_PATH", "from-env.db")
        .args(["send", "b"])));
    assert!(
        dir.path().join("from-env.db").exists(),
        "COGMAN_SQLITE_PATH overrides the file"
    );
}

#[test]
fn config_errors_name_the_field_and_where_it_came_from() {
    let dir = tempfile::tempdir().expect("temp dir");
    let from_env = stderr_of(
        cogman(dir.path())
            .env("COGMAN_CONCURRENCY", "0")
            .args(["send", "x"]),
    );
    assert!(
        from_env.contains("concurrency") && from_env.contains("COGMAN_CONCURRENCY"),
        "{from_env}"
    );
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[amqp]\nuri = \"http://rabbit\"\n").expect("config file");
    let from_file = stderr_of(
        cogman(dir.path())
            .arg("--config")
            .arg(&file)
            .args(["send", "x"]),
    );
    assert!(
        from_file.contains("amqp.uri") && from_file.contains(&file.display().to_string()),
        "{from_file}"
    );
    let from_flag = stderr_of(cogman(dir.path()).args(["--redis", "localhost", "send", "x"]));
    assert!(
        from_flag.contains("redis.uri") && from_flag.contains("--redis"),
        "{from_flag}"
    );
    let typed_wrong = stderr_of(
        cogman(dir.path())
            .env("COGMAN_REQUEST_TIMEOUT", "soon")
            .args(["send", "x"]),
    );
    assert!(
        typed_wrong.contains("request_timeout") && typed_wrong.contains("COGMAN_REQUEST_TIMEOUT"),
        "{typed_wrong}"
    );
    let unknown = stderr_of(
        cogman(dir.path())
            .env("COGMAN_AMQP_URL", "amqp://h")
            .args(["send", "x"]),
    );
    assert!(unknown.contains("COGMAN_AMQP_URL"), "{unknown}");
}

#[test]
fn an_empty_cogman_config_is_unset() {
    let dir = tempfile::tempdir().expect("temp dir");
    let id = stdout(&run(cogman(dir.path())
        .env("COGMAN_CONFIG", "")
        .args(["send", "x"])));
    assert!(!id.is_empty());
}

#[test]
fn an_exported_cogman_server_does_not_stop_worker_or_serve() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Nothing listens there: a command that used it would fail.
    let server = "http://127.0.0.1:9";
    let id = stdout(&run(cogman(dir.path()).args([
        "send",
        "echo",
        "--payload",
        "hi",
    ])));
    let mut worker_command = cogman(dir.path());
    worker_command
        .env("COGMAN_SERVER", server)
        .args(["worker", "--handler", "echo=cat"]);
    let _worker = WorkerProcess::spawn(worker_command, dir.path().join("worker.log"));
    assert_eq!(wait_finished(dir.path(), &id), "success");

    let mut serve = cogman(dir.path())
        .env("COGMAN_SERVER", server)
        .args(["serve", "--listen", "127.0.0.1:0", "--handler", "echo=cat"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cogman serve starts");
    let mut stderr = BufReader::new(serve.stderr.take().expect("stderr"));
    let mut said = String::new();
    let listening = loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).expect("stderr readable") == 0 {
            break false;
        }
        said.push_str(&line);
        if line.contains("http://127.0.0.1:") {
            break true;
        }
    };
    let _ = serve.kill();
    let _ = serve.wait();
    assert!(listening, "cogman serve did not start: {said}");
}

#[test]
fn a_handler_can_send_with_cogman() {
    let dir = tempfile::tempdir().expect("temp dir");
    let binary = env!("CARGO_BIN_EXE_cogman");
    // The handler runs in the worker's folder, so it uses the same ./cogman.db; it sees the
    // COGMAN_TASK_ID, COGMAN_ATTEMPT, … the worker sets for it.
    let first = stdout(&run(cogman_bare(dir.path()).args(["send", "first"])));
    let mut worker_command = cogman_bare(dir.path());
    worker_command.args([
        "worker",
        "--handler",
        &format!("first='{binary}' send second --payload \"from $COGMAN_TASK_ID\""),
        "--handler",
        "second=cat",
    ]);
    let _worker = WorkerProcess::spawn(worker_command, dir.path().join("worker.log"));
    assert_eq!(
        wait_finished(dir.path(), &first),
        "success",
        "the handler's `cogman send` failed: {}",
        stdout(&run(cogman(dir.path()).args(["status", &first])))
    );
    let listed =
        wait_for("the task the handler sent to succeed", || {
            let listed = json(&run(cogman(dir.path())
                .args(["tasks", "--name", "second", "--status", "success", "--json"])));
            (listed["items"].as_array().map(Vec::len) == Some(1)).then_some(listed)
        });
    assert_eq!(listed["items"][0]["name"], "second");
}
