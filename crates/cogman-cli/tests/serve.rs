//! Tests of `cogman serve` and of the task commands over HTTP (`--server`, `--token`), run as
//! real processes on a temp SQLite file and a loopback port.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::Instant;

use support::{WAIT, cogman, http_get, json, run, stderr, stdout, wait_for};

const ADMIN: &str = "admin-token-for-cli-tests-0001";
const READER: &str = "read-token-for-cli-tests-00002";

/// A running `cogman serve`; killed when dropped.
struct Server {
    child: Child,
    url: String,
    _stderr: BufReader<ChildStderr>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `cogman serve` on a free loopback port and reads the bound URL from its stderr.
fn serve(dir: &Path, extra: &[&str]) -> Server {
    serve_on(dir, "127.0.0.1:0", extra, &[]).0
}

/// Starts `cogman serve --listen LISTEN` with these extra arguments and environment; returns
/// it and its start-up line.
fn serve_on(dir: &Path, listen: &str, extra: &[&str], env: &[(&str, &str)]) -> (Server, String) {
    std::fs::write(
        dir.join("tokens"),
        format!("admin:{ADMIN}\nread:{READER}\n"),
    )
    .expect("token file");
    let mut child = cogman(dir)
        .envs(env.iter().copied())
        .args(["serve", "--listen", listen, "--token-file"])
        .arg(dir.join("tokens"))
        .args(extra)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cogman serve starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let deadline = Instant::now() + WAIT;
    let mut line = String::new();
    let url = loop {
        assert!(
            Instant::now() < deadline,
            "cogman serve did not report its address"
        );
        line.clear();
        let read = stderr.read_line(&mut line).expect("stderr readable");
        assert!(read > 0, "cogman serve exited before listening");
        if let Some(start) = line.find("http://") {
            let url = &line[start..];
            let end = url.find("/api/v1").expect("the API prefix");
            break url[..end].to_owned();
        }
    };
    let server = Server {
        child,
        url,
        _stderr: stderr,
    };
    (server, line)
}

fn remote(dir: &Path, url: &str, token: &str) -> Command {
    let mut command = cogman(dir);
    // The variables, as `--server` and `--token` belong after the subcommand.
    command
        .env("COGMAN_SERVER", url)
        .env("COGMAN_API_TOKEN", token);
    command
}

#[test]
fn the_task_commands_work_over_http() {
    let dir = tempfile::tempdir().expect("temp dir");
    let server = serve(dir.path(), &["--no-worker"]);
    let id = stdout(&run(remote(dir.path(), &server.url, ADMIN).args([
        "send",
        "greet",
        "--payload",
        "hi",
        "--retry",
        "2",
    ])));
    assert_eq!(id.len(), 36, "a task id: {id}");

    let status = json(&run(
        remote(dir.path(), &server.url, READER).args(["status", &id, "--json"])
    ));
    assert_eq!(status["task"]["name"], "greet");
    assert_eq!(status["task"]["status"], "queued");
    assert_eq!(status["task"]["retry"], 2);

    let listed = json(&run(
        remote(dir.path(), &server.url, READER).args(["tasks", "--json", "--status", "queued"])
    ));
    assert_eq!(listed["items"][0]["id"], id.as_str());

    stdout(&run(
        remote(dir.path(), &server.url, ADMIN).args(["cancel", &id])
    ));
    let retried = stdout(&run(
        remote(dir.path(), &server.url, ADMIN).args(["retry", &id, "--retry", "1"])
    ));
    assert_ne!(retried, id);
    // The same file, read directly, agrees with the API.
    let local = json(&run(cogman(dir.path()).args(["status", &retried, "--json"])));
    assert_eq!(local["task"]["original_task_id"], id.as_str());
    assert_eq!(local["task"]["retry"], 1);

    let refused = run(remote(dir.path(), &server.url, READER).args(["cancel", &retried]));
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("403"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let unknown =
        run(remote(dir.path(), &server.url, "wrong-token-for-cli-tests-0003").args(["tasks"]));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("401"),
        "{}",
        String::from_utf8_lossy(&unknown.stderr)
    );
}

#[test]
fn serve_refuses_a_public_address_without_tokens() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = run(cogman(dir.path()).args(["serve", "--no-worker", "--listen", "0.0.0.0:0"]));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to serve on 0.0.0.0:0 without API tokens"),
        "{stderr}"
    );
    let needs_handler = run(cogman(dir.path()).args(["serve"]));
    assert!(!needs_handler.status.success(), "a worker needs --handler");
    let said = String::from_utf8_lossy(&needs_handler.stderr);
    assert!(
        said.contains("no --handler given") && said.contains("--no-worker"),
        "{said}"
    );
}

#[test]
fn serve_takes_host_names_prints_the_ui_and_answers_probes_at_the_root() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (server, line) = serve_on(
        dir.path(),
        "localhost:0",
        &["--handler", "upper=tr a-z A-Z"],
        &[("HOSTNAME", "not-this-machine")],
    );
    assert!(line.contains("/ui/"), "the UI's address: {line}");
    let (code, body) = http_get(&format!("{}/healthz", server.url), None);
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("ok"), "{body}");
    let (code, _) = http_get(&format!("{}/metrics", server.url), None);
    assert_eq!(code, 401, "metrics need a token, as under /api/v1");
    let (code, metrics) = http_get(&format!("{}/metrics", server.url), Some(READER));
    assert_eq!(code, 200);
    assert!(metrics.contains("# EOF"), "OpenMetrics text: {metrics}");

    // The worker reports the machine's host name, whatever $HOSTNAME says.
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .expect("the machine's name")
        .trim()
        .to_owned();
    let workers = wait_for_workers(&server.url);
    assert!(
        workers.contains(&format!("\"host\":\"{machine}\"")),
        "{workers}"
    );
    assert!(!workers.contains("not-this-machine"), "{workers}");

    // Through the API: send --wait prints the result; a name no live worker handles is warned.
    let waited = run(remote(dir.path(), &server.url, ADMIN).args([
        "send",
        "upper",
        "--payload",
        "hi",
        "--wait",
    ]));
    assert!(
        waited.status.success(),
        "{}",
        String::from_utf8_lossy(&waited.stderr)
    );
    assert_eq!(waited.stdout, b"HI");
    let unhandled = run(remote(dir.path(), &server.url, ADMIN).args(["send", "resize"]));
    assert!(unhandled.status.success());
    let said = String::from_utf8_lossy(&unhandled.stderr);
    assert!(
        said.contains(
            "warning: no live worker handles \"resize\" on queue \"default\" (1 live worker(s)"
        ),
        "{said}"
    );
}

/// The workers list, once it names a worker.
fn wait_for_workers(url: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let (code, body) = http_get(&format!("{url}/api/v1/workers"), Some(READER));
        if code == 200 && body.contains("\"host\"") {
            return body;
        }
        assert!(Instant::now() < deadline, "no worker listed: {code} {body}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// `GET /api/v1/tasks/{id}` with the read token, as the API's own body.
fn api_details(url: &str, id: &str) -> cogman::TaskDetails {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let body: cogman_api::model::TaskDetails = runtime.block_on(async {
        let response = reqwest::Client::new()
            .get(format!("{url}/api/v1/tasks/{id}"))
            .bearer_auth(READER)
            .send()
            .await
            .expect("the API answers");
        assert_eq!(response.status().as_u16(), 200, "GET /tasks/{id}");
        response.json().await.expect("a task details body")
    });
    body.try_into().expect("the body converts back losslessly")
}

#[test]
fn the_cli_and_the_api_report_the_same_details_of_a_retried_task() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Fails on its first two runs, succeeds on the third: three attempts of one task.
    let flaky = "flaky=n=$(cat runs 2>/dev/null || echo 0); echo $((n + 1)) > runs; \
                 if [ \"$n\" -lt 2 ]; then echo \"run $n fails\" >&2; exit 1; fi; echo done";
    let server = serve(dir.path(), &["--handler", flaky]);
    let root = stdout(&run(cogman(dir.path()).args([
        "send",
        "flaky",
        "--payload",
        "x",
        "--retry",
        "2",
    ])));
    let finished = wait_for("the third attempt to succeed", || {
        let details = json(&run(cogman(dir.path()).args(["status", &root, "--json"])));
        let newest = &details["attempts"][0];
        (newest["status"] == "success").then(|| newest["id"].as_str().map(str::to_owned))?
    });
    for id in [&root, &finished] {
        let shown: cogman_api::model::TaskDetails = serde_json::from_value(json(&run(cogman(
            dir.path(),
        )
        .args(["status", id, "--json"]))))
        .expect("the CLI prints task details in the API's shape");
        let cli: cogman::TaskDetails = shown.try_into().expect("lossless");
        assert_eq!(cli.attempts.len(), 3, "two failed runs, then a success");
        let states: Vec<_> = cli.history.iter().map(|c| c.state).collect();
        assert!(
            states.len() >= 3 && states.last() == Some(&cli.task.status),
            "queued, running, then its outcome: {states:?}"
        );
        assert_eq!(cli, api_details(&server.url, id), "task {id}");
    }
}

#[test]
fn serve_without_a_worker_purges_old_finished_tasks_and_counts_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let send = |args: &[&str]| stdout(&run(cogman(dir.path()).arg("send").args(args)));
    let cancelled: Vec<String> = (0..2).map(|_| send(&["nobody", "--delay", "1h"])).collect();
    for id in &cancelled {
        stdout(&run(cogman(dir.path()).args(["cancel", id])));
    }
    let queued = send(&["nobody"]);
    let (server, _) = serve_on(
        dir.path(),
        "127.0.0.1:0",
        &["--no-worker"],
        &[
            ("COGMAN_SQLITE_TTL", "1s"),
            ("COGMAN_PURGE_INTERVAL", "100ms"),
        ],
    );
    let metrics = wait_for("the purge to be counted in /metrics", || {
        let (code, metrics) = http_get(&format!("{}/metrics", server.url), Some(READER));
        assert_eq!(code, 200, "{metrics}");
        metrics
            .contains("cogman_tasks_purged_total 2")
            .then_some(metrics)
    });
    assert!(
        metrics.contains("# TYPE cogman_tasks_purged counter"),
        "{metrics}"
    );
    for id in &cancelled {
        let gone = run(cogman(dir.path()).args(["status", id]));
        assert!(!gone.status.success(), "cancelled task {id} is purged");
    }
    let kept = json(&run(cogman(dir.path()).args(["status", &queued, "--json"])));
    assert_eq!(kept["task"]["status"], "queued", "an unfinished task stays");
}

/// A `cogman worker` on `dir`'s database whose `crash` handler SIGKILLs its worker the first
/// time it runs (while `marker` does not exist) and succeeds afterwards; one delivery at most
/// (`max_deliveries` 1) and a 1 s lease.
fn crashing_worker(dir: &Path, marker: &Path) -> Child {
    let handler = format!(
        "crash=if [ ! -e {m} ]; then touch {m}; kill -9 $PPID; fi; echo ok",
        m = marker.display()
    );
    cogman(dir)
        .env("COGMAN_LEASE", "1s")
        .env("COGMAN_MAX_DELIVERIES", "1")
        .args(["worker", "--quiet", "--handler", &handler])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("worker starts")
}

/// Sends a `crash` task, lets it kill a worker, and starts the worker that finds it poison;
/// returns the task id and the running worker.
fn dead_letter_a_crash(dir: &Path, marker: &Path) -> (String, Child) {
    let _ = std::fs::remove_file(marker);
    let mut first = crashing_worker(dir, marker);
    let id = stdout(&run(cogman(dir).args(["send", "crash"])));
    wait_for("the task to kill its worker", || {
        first.try_wait().expect("try_wait").map(drop)
    });
    (id, crashing_worker(dir, marker))
}

fn dead_letter_of(list: &serde_json::Value, task: &str) -> Option<serde_json::Value> {
    list["items"]
        .as_array()?
        .iter()
        .find(|d| d["task_id"] == task)
        .cloned()
}

#[test]
fn dead_letters_are_listed_requeued_and_purged_locally_and_over_http() {
    let dir = tempfile::tempdir().expect("temp dir");
    let marker = dir.path().join("crashed-once");
    let server = serve(dir.path(), &["--no-worker"]);
    let (id, mut worker) = dead_letter_a_crash(dir.path(), &marker);
    let local = || {
        json(&run(cogman(dir.path()).args([
            "dead-letters",
            "list",
            "--json",
        ])))
    };
    let dead = wait_for("the poison task to be dead-lettered", || {
        dead_letter_of(&local(), &id)
    });
    let reason = dead["reason"].as_str().expect("a reason").to_owned();
    assert!(reason.contains("deliveries"), "reason: {reason}");
    assert_eq!(dead["name"], "crash");
    assert_eq!(dead["requeueable"], true);
    let status = json(&run(cogman(dir.path()).args(["status", &id, "--json"])));
    assert_eq!(status["task"]["status"], "failed", "never left in_progress");
    assert_eq!(status["task"]["fail_error"], reason.as_str());

    let over_http = json(&run(remote(dir.path(), &server.url, READER).args([
        "dead-letters",
        "list",
        "--json",
    ])));
    assert_eq!(
        dead_letter_of(&over_http, &id),
        Some(dead.clone()),
        "same entry over HTTP"
    );
    let dead_id = dead["id"].to_string();
    let refused =
        run(remote(dir.path(), &server.url, READER).args(["dead-letters", "requeue", &dead_id]));
    assert!(
        !refused.status.success(),
        "a read-only token cannot requeue"
    );
    assert!(stderr(&refused).contains("403"), "{}", stderr(&refused));
    let again = stdout(&run(remote(dir.path(), &server.url, ADMIN).args([
        "dead-letters",
        "requeue",
        &dead_id,
    ])));
    assert_ne!(again, id);
    wait_for("the requeued attempt to succeed", || {
        let task = json(&run(cogman(dir.path()).args(["status", &again, "--json"])));
        (task["task"]["status"] == "success").then_some(())
    });
    assert_eq!(
        dead_letter_of(&local(), &id),
        None,
        "requeued: no longer listed"
    );
    let twice = run(cogman(dir.path()).args(["dead-letters", "requeue", &dead_id]));
    assert!(!twice.status.success());
    assert!(
        stderr(&twice).contains("no dead letter"),
        "{}",
        stderr(&twice)
    );

    let _ = worker.kill();
    let _ = worker.wait();
    let (second, mut worker) = dead_letter_a_crash(dir.path(), &marker);
    let dead = wait_for("the second poison task to be dead-lettered", || {
        dead_letter_of(&local(), &second)
    });
    stdout(&run(cogman(dir.path()).args([
        "dead-letters",
        "purge",
        &dead["id"].to_string(),
    ])));
    assert_eq!(dead_letter_of(&local(), &second), None, "purged");
    let all = run(remote(dir.path(), &server.url, ADMIN).args(["dead-letters", "purge", "--all"]));
    assert!(
        stderr(&all).contains("purged 0 dead letters"),
        "{}",
        stderr(&all)
    );
    let _ = worker.kill();
    let _ = worker.wait();
}

#[test]
fn schedules_are_listed_over_http_with_their_runs_and_leader() {
    let dir = tempfile::tempdir().expect("temp dir");
    let added =
        run(cogman(dir.path()).args(["schedule", "add", "tick", "--task", "t", "--every", "1s"]));
    assert_eq!(stdout(&added), "tick");
    // `cogman serve` runs the scheduler, with or without a worker.
    let server = serve(dir.path(), &["--no-worker"]);
    let listed = wait_for("a slot sent by the server's scheduler", || {
        let listed = json(&run(
            remote(dir.path(), &server.url, READER).args(["schedule", "list", "--json"])
        ));
        (listed["items"][0]["last_run"]["task_id"].is_string() && listed["leader"].is_object())
            .then_some(listed)
    });
    assert_eq!(listed["items"][0]["id"], "tick");
    assert_eq!(listed["items"][0]["every"], "1s");
    assert!(listed["items"][0]["next_run"].is_string(), "{listed}");
    let table = stdout(&run(
        remote(dir.path(), &server.url, READER).args(["schedule", "list"])
    ));
    assert!(
        table.contains("tick") && table.contains("every 1s"),
        "{table}"
    );
    assert!(table.contains("active"), "{table}");
}
