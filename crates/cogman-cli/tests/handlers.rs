//! The handler contract of `cogman worker`, tested through the binary: payloads stream through
//! a command, each command runs in a process group of its own that timeout, cancel and worker
//! shutdown stop as a whole (checked with `ps`) — on the embedded SQLite file and on RabbitMQ
//! (`--amqp`, the log on the SQLite file), each test run in both modes — and results have a
//! size limit, set by variable or config file.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use cogman_testkit::servers::SharedCleanup;
use serde_json::Value;

use support::{WorkerProcess, cogman, json, run, stdout, wait_for};

const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// Where a test's tasks queue: the embedded SQLite file, or RabbitMQ under a queue prefix of
/// the test's own (removed when dropped).
enum Mode {
    Embedded,
    Amqp {
        prefix: String,
        _cleanup: SharedCleanup,
    },
}

/// One test's directory and mode; every `cogman` it runs uses both.
struct Setup {
    dir: tempfile::TempDir,
    mode: Mode,
}

impl Setup {
    fn embedded() -> Setup {
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
            mode: Mode::Embedded,
        }
    }

    fn amqp() -> Setup {
        let id = cogman::TaskId::new().as_uuid().simple().to_string();
        let prefix = format!("handlers_{}.", &id[id.len() - 12..]);
        Setup {
            dir: tempfile::tempdir().expect("temp dir"),
            mode: Mode::Amqp {
                _cleanup: support::amqp_cleanup(AMQP, &prefix),
                prefix,
            },
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `cogman --db DIR/cogman.db`, with the broker variables of the mode.
    fn cogman(&self) -> Command {
        let mut command = cogman(self.path());
        if let Mode::Amqp { prefix, .. } = &self.mode {
            command
                .env("COGMAN_AMQP_URI", AMQP)
                .env("COGMAN_AMQP_QUEUE_PREFIX", prefix);
        }
        command
    }

    fn status_of(&self, id: &str) -> Value {
        json(&run(self.cogman().args(["status", id, "--json"])))
    }

    fn send(&self, args: &[&str]) -> String {
        stdout(&run(self.cogman().arg("send").args(args)))
    }

    /// A `cogman worker` with these handlers (and `env` set), its log in `DIR/worker.log`.
    fn worker(&self, handlers: &[&str], env: &[(&str, &str)]) -> WorkerProcess {
        let mut command = self.cogman();
        command.envs(env.iter().copied()).arg("worker");
        for handler in handlers {
            command.args(["--handler", handler]);
        }
        WorkerProcess::spawn(command, self.path().join("worker.log"))
    }

    /// Waits for the task to reach one of `states`; returns its record.
    fn wait_state(&self, id: &str, states: &[&str]) -> Value {
        wait_for(&format!("task {id} to be {states:?}"), || {
            let task = self.status_of(id);
            let status = task["task"]["status"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            states.contains(&status.as_str()).then_some(task)
        })
    }
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

/// Runs each named process-group check in both modes: `NAME` on the embedded file,
/// `NAME_on_amqp` on RabbitMQ.
macro_rules! in_both_modes {
    ($($check:ident => $amqp:ident),* $(,)?) => {$(
        #[test]
        fn $check() {
            checks::$check(&Setup::embedded());
        }

        #[test]
        fn $amqp() {
            checks::$check(&Setup::amqp());
        }
    )*};
}

in_both_modes! {
    a_megabyte_payload_streams_through_a_shell_handler
        => a_megabyte_payload_streams_through_a_shell_handler_on_amqp,
    a_timed_out_handler_leaves_no_process_of_its_group
        => a_timed_out_handler_leaves_no_process_of_its_group_on_amqp,
    a_handler_that_ignores_sigterm_is_killed_after_the_grace_period
        => a_handler_that_ignores_sigterm_is_killed_after_the_grace_period_on_amqp,
    cancel_and_worker_shutdown_stop_the_whole_group
        => cancel_and_worker_shutdown_stop_the_whole_group_on_amqp,
}

/// The checks [`in_both_modes`] runs, each on a [`Setup`].
mod checks {
    use super::*;

    pub(super) fn a_megabyte_payload_streams_through_a_shell_handler(setup: &Setup) {
        let _worker = setup.worker(&["upper=tr a-z A-Z"], &[]);
        let payload: Vec<u8> = b"abcdefghijklmnopqrstuvwxyz0123456789\n"
            .iter()
            .copied()
            .cycle()
            .take(1_000_000)
            .collect();
        let file = setup.path().join("payload.txt");
        std::fs::write(&file, &payload).expect("write payload");
        let id = setup.send(&["upper", "--payload-file", &file.display().to_string()]);
        let task = setup.wait_state(&id, &["success", "failed", "retry"]);
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

    pub(super) fn a_timed_out_handler_leaves_no_process_of_its_group(setup: &Setup) {
        let (bg, nested) = (
            pgid_file(setup.path(), "bg"),
            pgid_file(setup.path(), "nested"),
        );
        let _worker = setup.worker(
            &[
                &group_handler("bg", &bg, "sleep 300 & wait"),
                &group_handler("nested", &nested, "sh -c 'sleep 300'"),
            ],
            &[],
        );
        for (name, file) in [("bg", &bg), ("nested", &nested)] {
            let id = setup.send(&[name, "--timeout", "2s"]);
            let group = running_group(file);
            let task = setup.wait_state(&id, &["failed"]);
            let error = task["task"]["fail_error"].as_str().unwrap_or_default();
            assert!(error.contains("timed out"), "{name}: {error}");
            assert_eq!(
                live_members(group),
                Vec::<String>::new(),
                "{name}: no process of the handler outlives its attempt"
            );
        }
    }

    pub(super) fn a_handler_that_ignores_sigterm_is_killed_after_the_grace_period(setup: &Setup) {
        let file = pgid_file(setup.path(), "stubborn");
        let _worker = setup.worker(
            &[&group_handler(
                "stubborn",
                &file,
                "trap '' TERM; sleep 300 & wait",
            )],
            &[("COGMAN_KILL_GRACE", "1s")],
        );
        let id = setup.send(&["stubborn", "--timeout", "1s"]);
        let group = running_group(&file);
        setup.wait_state(&id, &["failed"]);
        // SIGKILL was sent before the outcome was recorded; the kernel may take a moment to
        // end the processes, never anything near the 300 s they would otherwise sleep.
        wait_for("the SIGTERM-proof group to be killed", || {
            live_members(group).is_empty().then_some(())
        });
    }

    pub(super) fn cancel_and_worker_shutdown_stop_the_whole_group(setup: &Setup) {
        let file = pgid_file(setup.path(), "long");
        let mut worker = setup.worker(
            &[&group_handler("long", &file, "sleep 300 & wait")],
            &[("COGMAN_SHUTDOWN_GRACE", "1s")],
        );
        let cancelled = setup.send(&["long"]);
        let group = running_group(&file);
        stdout(&run(setup.cogman().args(["cancel", &cancelled])));
        setup.wait_state(&cancelled, &["cancelled"]);
        wait_for("the cancelled attempt's group to stop", || {
            live_members(group).is_empty().then_some(())
        });
        std::fs::remove_file(&file).expect("remove the pgid file");
        let interrupted = setup.send(&["long"]);
        let group = running_group(&file);
        assert!(worker.terminate().success(), "graceful stop exits 0");
        assert_eq!(
            live_members(group),
            Vec::<String>::new(),
            "the worker stopped only once its handler's group was gone"
        );
        let task = setup.status_of(&interrupted);
        assert_ne!(task["task"]["status"], "success", "{task}");
    }
}

/// Sends a task to a handler that prints `printed` bytes, its worker run with `env`; asserts it
/// failed for good, saying it passed the limit of `limit` bytes, and stored no result.
fn assert_over_the_limit_fails(setup: &Setup, printed: usize, limit: usize, env: &[(&str, &str)]) {
    let handler = format!("big=head -c {printed} /dev/zero");
    let _worker = setup.worker(&[&handler], env);
    let id = setup.send(&["big", "--retry", "2"]);
    let task = setup.wait_state(&id, &["failed", "retry", "success"]);
    assert_eq!(task["task"]["status"], "failed", "not retried: {task}");
    let error = task["task"]["fail_error"].as_str().unwrap_or_default();
    assert!(
        error.contains(&format!("more than {limit} bytes"))
            && error.contains("result limit")
            && error.contains("max_result_bytes"),
        "{error}"
    );
    assert!(
        task["task"]["result_base64"].is_null(),
        "nothing stored: {task}"
    );
}

#[test]
fn a_result_over_the_limit_fails_the_attempt_and_says_so() {
    assert_over_the_limit_fails(&Setup::embedded(), 5_000_000, 1024 * 1024, &[]);
}

#[test]
fn the_result_limit_is_set_by_variable_and_by_config_file() {
    let by_variable = Setup::embedded();
    assert_over_the_limit_fails(
        &by_variable,
        2000,
        1000,
        &[("COGMAN_MAX_RESULT_BYTES", "1000")],
    );

    let by_file = Setup::embedded();
    std::fs::write(
        by_file.path().join("cogman.toml"),
        "max_result_bytes = 1000\n",
    )
    .expect("config file");
    assert_over_the_limit_fails(&by_file, 2000, 1000, &[("COGMAN_CONFIG", "cogman.toml")]);

    // Under the limit, the same output is the result.
    let under = Setup::embedded();
    let _worker = under.worker(
        &["small=head -c 900 /dev/zero"],
        &[("COGMAN_MAX_RESULT_BYTES", "1000")],
    );
    let id = under.send(&["small"]);
    let task = under.wait_state(&id, &["failed", "retry", "success"]);
    assert_eq!(task["task"]["status"], "success", "{task}");
}
