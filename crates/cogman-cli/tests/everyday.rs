//! The `cogman` binary as a new user meets it, run as real processes on a temp SQLite file:
//! output that never panics and cannot harm a terminal (closed pipes, large, binary and
//! hostile values), the worker's line per attempt, options that agree with the API, read
//! commands on a missing database, `send --wait`, the demo's own database, and `--help`.

mod support;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use cogman::{Task, TaskLog, TaskSpec};
use serde_json::Value;

use support::{WorkerProcess, cogman, cogman_in, json, lines, run, stderr, stdout, wait_for};

fn send(dir: &Path, args: &[&str]) -> String {
    stdout(&run(cogman(dir).arg("send").args(args)))
}

fn status_of(dir: &Path, id: &str) -> Value {
    json(&run(cogman(dir).args(["status", id, "--json"])))
}

fn wait_for_status(dir: &Path, id: &str, state: &str) -> Value {
    wait_for(&format!("task {id} to be {state}"), || {
        let task = status_of(dir, id);
        (task["task"]["status"] == state).then_some(task)
    })
}

/// A worker on `dir`'s database with these handlers, its per-attempt lines in `dir/out.txt`.
fn worker(dir: &Path, handlers: &[&str], extra: &[&str]) -> WorkerProcess {
    let mut command = cogman(dir);
    command.env("COGMAN_LOG", "info").arg("worker").args(extra);
    for handler in handlers {
        command.args(["--handler", handler]);
    }
    WorkerProcess::spawn_printing(command, dir.join("worker.log"), &dir.join("out.txt"))
}

/// Runs `command` with `input` on stdin.
fn run_with_stdin(command: &mut Command, input: &[u8]) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cogman runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("payload written");
    child.wait_with_output().expect("cogman ends")
}

/// Records `tasks` straight into `dir`'s database, as any producer could.
fn store_tasks(dir: &Path, tasks: impl IntoIterator<Item = Task>) {
    let path = dir.join("cogman.db");
    let store = cogman_sqlite::SqliteStore::open(cogman_sqlite::SqliteOptions::new(&path))
        .expect("the database opens");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for task in tasks {
        runtime.block_on(store.create(&task)).expect("stored");
    }
}

/// Whether `text` holds a time written the one way the CLI writes them.
fn has_utc_time(text: &str) -> bool {
    text.split("UTC").any(|before| {
        let stamp: String = before
            .chars()
            .rev()
            .take(24)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let b = stamp.as_bytes();
        b.len() == 24
            && b[4] == b'-'
            && b[10] == b' '
            && b[13] == b':'
            && b[19] == b'.'
            && b[23] == b' '
    })
}

#[test]
fn a_closed_pipe_ends_the_command_quietly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let big = vec![b'x'; 512 * 1024];
    std::fs::write(dir.path().join("big"), &big).expect("payload file");
    let id = send(dir.path(), &["x", "--payload-file", "big"]);
    // A thousand tasks: a listing larger than a pipe holds.
    store_tasks(
        dir.path(),
        (0..1000)
            .map(|i| Task::from_spec(TaskSpec::new("many", format!("{i}")), chrono::Utc::now())),
    );
    for args in [
        vec!["status", id.as_str(), "--raw", "payload"],
        vec!["status", id.as_str(), "--json"],
        vec!["tasks", "--limit", "1000"],
        vec!["tasks", "--limit", "1000", "--json"],
    ] {
        // As `cogman … | head -c 1`: read one byte, then close the pipe.
        let mut child = cogman(dir.path())
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cogman runs");
        let mut stdout = child.stdout.take().expect("stdout");
        let mut first = [0_u8; 1];
        stdout.read_exact(&mut first).expect("one byte");
        drop(stdout);
        let output = child.wait_with_output().expect("cogman ends");
        let err = stderr(&output);
        assert!(output.status.success(), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?} ends quietly: {err}");
    }
}

#[test]
fn large_binary_and_hostile_values_are_shown_safely() {
    let dir = tempfile::tempdir().expect("temp dir");
    let _worker = worker(
        dir.path(),
        &[
            "upper=tr a-z A-Z",
            "boom=printf 'bad \\033[31mred\\033[0m and a very long explanation of what went wrong here' >&2; exit 3",
        ],
        &[],
    );
    // A result over 64 KiB, several lines.
    let text = "a line of text\n".repeat(5000);
    std::fs::write(dir.path().join("text"), &text).expect("payload file");
    let id = send(dir.path(), &["upper", "--payload-file", "text"]);
    wait_for_status(dir.path(), &id, "success");
    let shown = stdout(&run(cogman(dir.path()).args(["status", &id])));
    assert!(
        shown.len() < 4000,
        "a preview, not the whole result: {} bytes",
        shown.len()
    );
    assert!(
        shown.contains("A LINE OF TEXT\\nA LINE"),
        "escaped newlines: {shown}"
    );
    assert!(shown.contains("(73.2 KiB)"), "the size: {shown}");
    assert!(
        shown.contains("payload        a line of text"),
        "the payload: {shown}"
    );
    assert!(has_utc_time(&shown), "times with their zone: {shown}");
    let raw = run(cogman(dir.path()).args(["status", &id, "--raw"]));
    assert_eq!(
        raw.stdout,
        text.to_uppercase().into_bytes(),
        "--raw is the result, whole"
    );

    // Binary payload.
    let bytes: Vec<u8> = (0..=255).collect();
    std::fs::write(dir.path().join("bin"), &bytes).expect("payload file");
    let bin = send(dir.path(), &["nobody", "--payload-file", "bin"]);
    let shown = stdout(&run(cogman(dir.path()).args(["status", &bin])));
    assert!(shown.contains("binary, 256 bytes: 00 01 02"), "{shown}");
    let raw = run(cogman(dir.path()).args(["status", &bin, "--raw", "payload"]));
    assert_eq!(raw.stdout, bytes);

    // An error with terminal escapes, cut short in lists.
    let failing = send(dir.path(), &["boom"]);
    wait_for_status(dir.path(), &failing, "failed");
    for args in [vec!["tasks"], vec!["status", failing.as_str()]] {
        let output = run(cogman(dir.path()).args(&args));
        assert!(
            !output.stdout.contains(&0x1b),
            "{args:?} prints no raw escape"
        );
        let text = stdout(&output);
        assert!(text.contains("bad \\u{1b}[31mred"), "{args:?}: {text}");
    }
    let listed = stdout(&run(cogman(dir.path()).args(["tasks"])));
    assert!(
        listed.contains("bad \\u{1b}[31mred\\u{1b}[0m and …"),
        "{listed}"
    );
    assert!(has_utc_time(&listed), "{listed}");
}

#[test]
fn the_worker_prints_a_line_per_attempt_without_colour() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut printing = worker(dir.path(), &["upper=tr a-z A-Z", "boom=exit 3"], &[]);
    let ok = send(dir.path(), &["upper", "--payload", "hi"]);
    let bad = send(dir.path(), &["boom", "--retry", "1"]);
    let out = dir.path().join("out.txt");
    let printed = wait_for("three attempt lines", || {
        let printed = lines(&out);
        (printed.len() >= 3).then_some(printed)
    });
    let line_of = |id: &str| {
        printed
            .iter()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("a line for {id}: {printed:?}"))
            .clone()
    };
    let success = line_of(&ok);
    assert!(
        success.contains("  upper  ")
            && success.contains("attempt 0  success")
            && has_utc_time(&success),
        "{success}"
    );
    assert!(line_of(&bad).contains("attempt 0  retry"), "{printed:?}");
    assert!(
        printed.iter().any(|l| l.contains("attempt 1  failed")),
        "{printed:?}"
    );
    assert!(printing.terminate().success());
    let log = std::fs::read(dir.path().join("worker.log")).expect("log");
    assert!(!log.is_empty(), "the worker logged at info");
    assert!(
        !log.contains(&0x1b),
        "no colour codes when stderr is not a terminal"
    );

    let quiet_dir = tempfile::tempdir().expect("temp dir");
    let mut quiet = worker(quiet_dir.path(), &["upper=tr a-z A-Z"], &["--quiet"]);
    let id = send(quiet_dir.path(), &["upper", "--payload", "hi"]);
    wait_for_status(quiet_dir.path(), &id, "success");
    assert!(quiet.terminate().success());
    assert!(
        lines(&quiet_dir.path().join("out.txt")).is_empty(),
        "--quiet prints nothing"
    );
}

#[test]
fn options_agree_with_the_api() {
    let dir = tempfile::tempdir().expect("temp dir");
    let zero = run(cogman(dir.path()).args(["tasks", "--limit", "0"]));
    assert!(!zero.status.success());
    assert!(
        stderr(&zero).contains("0 is not in 1..=1000"),
        "{}",
        stderr(&zero)
    );

    let after = run(cogman(dir.path()).args(["tasks", "--after", "xyz"]));
    assert!(
        stderr(&after).contains("--after takes the cursor printed under the previous page"),
        "{}",
        stderr(&after)
    );
    let delay = run(cogman(dir.path()).args(["send", "x", "--delay", "abc"]));
    assert!(
        stderr(&delay).contains("invalid value 'abc' for '--delay <DELAY>': expected a duration with a unit, such as 30s, 5m or 1h30m"),
        "{}",
        stderr(&delay)
    );
    let negative = run(cogman(dir.path()).args(["send", "x", "--delay", "-5s"]));
    assert!(
        stderr(&negative).contains("a duration cannot be negative"),
        "{}",
        stderr(&negative)
    );
    assert!(
        !stderr(&negative).contains("-- -5"),
        "{}",
        stderr(&negative)
    );
    for bad in ["x", "-1"] {
        let retry = run(cogman(dir.path()).args(["send", "x", "--retry", bad]));
        assert!(
            stderr(&retry).contains("expected a whole number of retries"),
            "{}",
            stderr(&retry)
        );
    }

    // --payload-file - reads stdin, exactly.
    let input = b"from stdin\n\x00\x01";
    let sent = run_with_stdin(
        cogman(dir.path()).args(["send", "a", "--payload-file", "-"]),
        input,
    );
    let id = stdout(&sent);
    let a = status_of(dir.path(), &id);
    // The API's shape: payload as base64 (and as JSON when it is JSON).
    assert_eq!(a["task"]["payload_base64"], "ZnJvbSBzdGRpbgoAAQ==", "{a}");
    assert_eq!(a["task"]["name"], "a");
    assert!(a["attempts"].is_array() && a["history"].is_array());
    let json_task = send(dir.path(), &["b", "--payload", "{\"n\":1}"]);
    assert_eq!(status_of(dir.path(), &json_task)["task"]["payload"]["n"], 1);

    stdout(&run(cogman(dir.path()).args(["cancel", &id])));
    let listed = json(&run(cogman(dir.path()).args([
        "tasks",
        "--json",
        "--status",
        "failed,cancelled",
    ])));
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{listed}");
    assert_eq!(items[0]["id"], id.as_str());
    assert!(items[0]["payload_base64"].is_string(), "the API's shape");
}

#[test]
fn read_commands_on_a_missing_database_say_so_and_create_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let id = "01a23b13-f53b-70e1-a151-83442c4376be";
    for args in [
        vec!["status", id],
        vec!["tasks"],
        vec!["retry", id],
        vec!["cancel", id],
    ] {
        let output = run(cogman_in(dir.path()).args(["--db", "typo.db"]).args(&args));
        assert!(!output.status.success(), "{args:?}");
        assert!(
            stderr(&output).contains("no database at typo.db"),
            "{args:?}: {}",
            stderr(&output)
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
        assert!(left.is_empty(), "{args:?} created nothing: {left:?}");
    }
}

#[test]
fn send_wait_prints_the_outcome_and_exits_with_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let _worker = worker(
        dir.path(),
        &[
            "upper=tr a-z A-Z",
            "flaky=[ \"$COGMAN_ATTEMPT\" = 1 ] && echo fine || exit 4",
            "boom=echo nope >&2; exit 3",
        ],
        &[],
    );
    let ok = run(cogman(dir.path()).args(["send", "upper", "--payload", "hello", "--wait"]));
    assert!(ok.status.success(), "{}", stderr(&ok));
    assert_eq!(ok.stdout, b"HELLO", "the result, as it is");

    // The chain of attempts: a retry, then success.
    let flaky = run(cogman(dir.path()).args(["send", "flaky", "--retry", "1", "--wait"]));
    assert!(flaky.status.success(), "{}", stderr(&flaky));
    assert_eq!(flaky.stdout, b"fine\n");
    assert!(
        stderr(&flaky).contains("succeeded (attempts: 2)"),
        "{}",
        stderr(&flaky)
    );

    let failed = run(cogman(dir.path()).args(["send", "boom", "--retry", "1", "--wait"]));
    assert_eq!(failed.status.code(), Some(1));
    assert!(
        stderr(&failed).contains("failed after 2 attempt(s): command exited with code 3: nope"),
        "{}",
        stderr(&failed)
    );
}

#[test]
fn the_demo_uses_a_database_of_its_own_and_says_why_it_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = run(cogman_in(dir.path()).args(["demo", "--tasks", "20"]));
    assert!(demo.status.success(), "{}", stderr(&demo));
    assert!(
        stderr(&demo).contains("demo database:"),
        "{}",
        stderr(&demo)
    );
    let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").collect();
    assert!(
        left.is_empty(),
        "no cogman.db in the working folder: {left:?}"
    );

    let broken = run(cogman_in(dir.path()).args(["demo", "--db", "/nonexistent-folder/demo.db"]));
    assert!(!broken.status.success());
    let said = stderr(&broken);
    assert!(said.contains("unable to open database file"), "{said}");
    assert!(
        !said.contains("{ ") && !said.contains("Os {"),
        "words, not debug output: {said}"
    );
}

#[test]
fn help_shows_only_the_options_of_the_command() {
    let dir = tempfile::tempdir().expect("temp dir");
    for command in ["worker", "serve", "demo", "bench"] {
        let help = stdout(&run(cogman(dir.path()).args([command, "--help"])));
        assert!(!help.contains("--server"), "{command}: {help}");
        assert!(!help.contains("--token <"), "{command}: {help}");
    }
    for command in ["send", "status", "tasks", "retry", "cancel"] {
        let help = stdout(&run(cogman(dir.path()).args([command, "--help"])));
        assert!(help.contains("--server"), "{command}: {help}");
    }
    let worker = stdout(&run(cogman(dir.path()).args(["worker", "--help"])));
    assert!(worker.contains("--quiet"), "{worker}");
}

#[test]
fn send_warns_when_no_live_worker_handles_the_name() {
    let dir = tempfile::tempdir().expect("temp dir");
    let alone = run(cogman(dir.path()).args(["send", "upper"]));
    assert!(alone.status.success());
    assert!(
        stderr(&alone).contains(
            "warning: no live worker handles \"upper\" on queue \"default\" (0 live worker(s)"
        ),
        "{}",
        stderr(&alone)
    );
    let _worker = worker(dir.path(), &["upper=tr a-z A-Z"], &[]);
    wait_for("the worker to be seen handling upper", || {
        let sent = run(cogman(dir.path()).args(["send", "upper"]));
        (sent.status.success() && !stderr(&sent).contains("warning")).then_some(())
    });
    let other = run(cogman(dir.path()).args(["send", "resize"]));
    assert!(other.status.success(), "the task is still accepted");
    assert!(
        stderr(&other).contains(
            "warning: no live worker handles \"resize\" on queue \"default\" (1 live worker(s)"
        ),
        "{}",
        stderr(&other)
    );
    // The handler is there, but not on that queue.
    let elsewhere = run(cogman(dir.path()).args(["send", "upper", "--queue", "images"]));
    assert!(elsewhere.status.success(), "the task is still accepted");
    assert!(
        stderr(&elsewhere).contains(
            "warning: no live worker handles \"upper\" on queue \"images\" (1 live worker(s), 0 on that queue)"
        ),
        "{}",
        stderr(&elsewhere)
    );
    // A bad queue name is refused, clearly, before anything is written.
    let bad = run(cogman(dir.path()).args(["send", "upper", "--queue", "no spaces"]));
    assert!(!bad.status.success());
    assert!(
        stderr(&bad).contains("invalid queue name \"no spaces\""),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn whatever_is_stored_is_printed_with_control_characters_escaped() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A record as a foreign producer could leave it: terminal escapes in the name, the
    // payload and the error (the CLI itself refuses such names).
    let mut task = Task::from_spec(
        TaskSpec::new(
            "evil\u{1b}[2J\r\nname\u{7}",
            b"\x1b]0;title\x07payload".to_vec(),
        ),
        chrono::Utc::now(),
    );
    task.fail_error = Some("oops\u{1b}[31m\rred".to_owned());
    store_tasks(dir.path(), [task.clone()]);
    let id = task.id.to_string();
    for args in [vec!["tasks"], vec!["status", id.as_str()]] {
        let output = run(cogman(dir.path()).args(&args));
        let raw = &output.stdout;
        for byte in [0x1b_u8, 0x07, b'\r'] {
            assert!(!raw.contains(&byte), "{args:?} prints no raw {byte:#x}");
        }
        let text = stdout(&output);
        assert!(
            text.contains("evil\\u{1b}[2J\\r\\nname\\u{7}"),
            "{args:?}: {text}"
        );
    }
    let status = stdout(&run(cogman(dir.path()).args(["status", &id])));
    assert!(status.contains("\\u{1b}]0;title\\u{7}payload"), "{status}");
}

/// A task and its attempts are one: `status` of the first id says how the chain ended (while
/// its own record stays `retry`), a second `retry` while an attempt waits is refused naming
/// it, and `cancel` of the first id cancels the waiting attempt.
#[test]
fn status_retry_and_cancel_treat_the_attempts_as_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let worker = worker(dir.path(), &["boom=echo nope >&2; exit 3"], &[]);
    let boom = send(dir.path(), &["boom", "--retry", "1"]);
    let details = wait_for("the attempts of boom to end", || {
        let details = status_of(dir.path(), &boom);
        (details["chain_status"] == "failed").then_some(details)
    });
    assert_eq!(details["task"]["status"], "retry", "its own record is kept");
    let text = stdout(&run(cogman(dir.path()).args(["status", &boom])));
    assert!(text.contains("chain status"), "{text}");
    drop(worker);

    // No worker handles `waits`: its attempts wait.
    let first = send(dir.path(), &["waits"]);
    run(cogman(dir.path()).args(["cancel", &first]));
    let second = stdout(&run(cogman(dir.path()).args(["retry", &first])));
    let refused = run(cogman(dir.path()).args(["retry", &first]));
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains(&format!("attempt 1 of this task ({second}) is queued")),
        "{}",
        stderr(&refused)
    );
    assert_eq!(
        status_of(dir.path(), &first)["latest_attempt"],
        second.as_str()
    );
    run(cogman(dir.path()).args(["cancel", &first]));
    assert_eq!(
        status_of(dir.path(), &second)["task"]["status"],
        "cancelled"
    );
    assert_eq!(status_of(dir.path(), &first)["chain_status"], "cancelled");
}
