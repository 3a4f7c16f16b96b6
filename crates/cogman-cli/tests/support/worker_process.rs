//! [`WorkerProcess`]: a `cogman worker` process of a test, its stderr in a file, killed when
//! dropped; signals to it ([`WorkerProcess::terminate`], [`WorkerProcess::kill9`],
//! [`WorkerProcess::freeze`]) and what its log says.

use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};

use super::wait_for;

/// A `cogman worker` process; killed when dropped.
pub struct WorkerProcess {
    child: Child,
    log: PathBuf,
}

impl WorkerProcess {
    /// Spawns `command` (a complete `cogman … worker …` command line) with no stdin or
    /// stdout and its stderr in `log`.
    pub fn spawn(command: Command, log: PathBuf) -> WorkerProcess {
        WorkerProcess::spawn_to(command, log, Stdio::null())
    }

    /// As [`WorkerProcess::spawn`], with its stdout (one line per attempt) in the file `out`.
    pub fn spawn_printing(command: Command, log: PathBuf, out: &std::path::Path) -> WorkerProcess {
        WorkerProcess::spawn_to(command, log, File::create(out).expect("stdout file").into())
    }

    fn spawn_to(mut command: Command, log: PathBuf, stdout: Stdio) -> WorkerProcess {
        let child = command
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(File::create(&log).expect("log file"))
            .spawn()
            .expect("the worker starts");
        WorkerProcess { child, log }
    }

    /// Everything it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// How many times its log holds `text`.
    pub fn log_count(&self, text: &str) -> usize {
        self.log().matches(text).count()
    }

    /// The worker's id (what the task log's `worker` field holds), from its start-up line.
    pub fn id(&self) -> String {
        wait_for("the worker's start-up line", || {
            let log = self.log();
            let rest = log.split("cogman worker ").nth(1)?;
            rest.split_whitespace().next().map(str::to_owned)
        })
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILL: no graceful stop, nothing settled.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL the worker");
        let _ = self.child.wait();
    }

    /// `kill -TERM`, then waits for the graceful stop.
    pub fn terminate(&mut self) -> ExitStatus {
        let pid = self.pid();
        assert!(send_signal("TERM", pid), "kill -TERM {pid}");
        wait_for("the worker to stop", || {
            self.child.try_wait().ok().flatten()
        })
    }

    /// `kill -STOP`: the process (not its handler shells) stops until the guard is dropped.
    pub fn freeze(&self) -> Frozen {
        let pid = self.pid();
        assert!(send_signal("STOP", pid), "kill -STOP {pid}");
        Frozen { pid }
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process stopped with `kill -STOP`; `kill -CONT` when dropped, so a failed assertion never
/// leaves it stopped.
pub struct Frozen {
    pid: u32,
}

impl Frozen {
    /// `kill -CONT` now.
    pub fn resume(self) {}
}

impl Drop for Frozen {
    fn drop(&mut self) {
        let _ = send_signal("CONT", self.pid);
    }
}

/// `kill -SIGNAL PID`; true when it was delivered.
pub fn send_signal(signal: &str, pid: u32) -> bool {
    Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .is_ok_and(|status| status.success())
}
