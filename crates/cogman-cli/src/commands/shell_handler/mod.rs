//! [`ShellHandler`]: a handler that runs a shell command in a process group of its own — the
//! payload written to its stdin while its stdout (the result, up to the result limit) and
//! stderr are read, a non-zero exit a (retryable) failure carrying the end of stderr. When the
//! attempt ends — the command exits, times out, is cancelled, or the worker stops — every
//! process left in the group gets SIGTERM, then SIGKILL after the kill grace period. The
//! variables a command gets are listed in [`ShellHandler::call`] and in the README's handler
//! contract.

mod capture;
mod process_group;

use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use cogman::{Handler, Output, TaskContext, TaskError, WorkerOptions};
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};
use tokio::task::JoinHandle;

use capture::{Captured, Keep};
use process_group::ProcessGroup;

/// The variables a command gets, without their `COGMAN_` prefix (so the binary does not read
/// them as config when a handler runs `cogman`), in the order [`variables`] gives values.
pub(crate) const HANDLER_VARIABLES: [&str; 6] = [
    "TASK_ID",
    "ORIGINAL_TASK_ID",
    "TASK_NAME",
    "ATTEMPT",
    "RETRY_LEFT",
    "PRIMARY_KEY",
];

/// `COGMAN_<NAME>=value` for each of [`HANDLER_VARIABLES`].
fn variables(ctx: &TaskContext) -> impl Iterator<Item = (String, String)> {
    let values = [
        ctx.task_id.to_string(),
        ctx.original_task_id.to_string(),
        ctx.name.clone(),
        ctx.attempt.to_string(),
        ctx.retry_left.to_string(),
        ctx.primary_key.clone().unwrap_or_default(),
    ];
    HANDLER_VARIABLES
        .iter()
        .zip(values)
        .map(|(name, value)| (format!("COGMAN_{name}"), value))
}

/// `TRACEPARENT` and `TRACESTATE` (the W3C names tools read) of the run's span, so what the
/// command does joins the task's trace; removed when the task has none, so the worker's own
/// variables never pose as the task's.
fn trace_variables(command: &mut Command, ctx: &TaskContext) {
    command.env_remove("TRACEPARENT").env_remove("TRACESTATE");
    if let Some(trace) = &ctx.trace {
        command.env("TRACEPARENT", trace.traceparent());
        if let Some(state) = &trace.state {
            command.env("TRACESTATE", state);
        }
    }
}

/// Bytes of the end of stderr kept from each run.
const STREAM_TAIL: usize = 4096;
/// Most stderr characters quoted in a failure message.
const FAILURE_TAIL: usize = 2000;
/// How long stdout and stderr may stay open once every process of the group is gone (only a
/// process that left the group, e.g. with `setsid`, can hold them).
const PIPE_DRAIN: Duration = Duration::from_secs(1);

/// What bounds a command's run.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShellLimits {
    /// Between SIGTERM and SIGKILL.
    pub(crate) kill_grace: Duration,
    /// Most stdout bytes (the result).
    pub(crate) max_result_bytes: usize,
}

impl From<&WorkerOptions> for ShellLimits {
    fn from(options: &WorkerOptions) -> Self {
        ShellLimits {
            kill_grace: options.kill_grace,
            max_result_bytes: options.max_result_bytes,
        }
    }
}

/// Runs `sh -c COMMAND` for each task.
#[derive(Debug, Clone)]
pub(crate) struct ShellHandler {
    command: String,
    limits: ShellLimits,
}

/// Why the wait for the command ended.
enum Ended {
    Exited(std::io::Result<ExitStatus>),
    /// The worker told the handler to stop (timeout, cancel, worker shutdown).
    Stopped,
    /// stdout passed the result limit.
    Overflowed,
}

impl ShellHandler {
    pub(crate) fn new(command: String, limits: ShellLimits) -> Self {
        ShellHandler { command, limits }
    }

    /// `sh -c COMMAND` in a new process group, with the task's variables and piped stdio.
    fn spawn(&self, ctx: &TaskContext) -> Result<Child, TaskError> {
        let mut command = Command::new("sh");
        command.arg("-c").arg(&self.command).envs(variables(ctx));
        trace_variables(&mut command, ctx);
        command
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| TaskError::fail(format!("cannot start `{}`: {e}", self.command)))
    }
}

#[async_trait::async_trait]
impl Handler for ShellHandler {
    async fn call(&self, ctx: TaskContext, payload: Vec<u8>) -> Result<Output, TaskError> {
        let mut child = self.spawn(&ctx)?;
        let mut group = ProcessGroup::led_by(&child)
            .ok_or_else(|| TaskError::retry("the command was gone before it could be tracked"))?;
        let feeder = child.stdin.take().map(|mut stdin| {
            tokio::spawn(async move {
                // A command that does not read its stdin closes the pipe early: not an error.
                let _ = stdin.write_all(&payload).await;
            })
        });
        let max = self.limits.max_result_bytes;
        let mut stdout = child
            .stdout
            .take()
            .map(|out| tokio::spawn(capture::read(out, Keep::UpTo(max))));
        let stderr = child
            .stderr
            .take()
            .map(|err| tokio::spawn(capture::read(err, Keep::Last(STREAM_TAIL))));
        let mut stdout_read = None;
        let ended = loop {
            tokio::select! {
                status = child.wait() => break Ended::Exited(status),
                () = ctx.cancelled() => break Ended::Stopped,
                joined = join(&mut stdout), if stdout_read.is_none() => {
                    let captured = joined;
                    let overflowed = captured.overflowed;
                    stdout_read = Some(captured);
                    if overflowed {
                        break Ended::Overflowed;
                    }
                }
            }
        };
        // Whatever ended the wait, nothing of the command may keep running.
        group.stop(&mut child, self.limits.kill_grace).await;
        if let Some(feeder) = feeder {
            feeder.abort();
        }
        let stdout = match stdout_read {
            Some(captured) => Some(captured),
            None => drain(stdout).await,
        };
        let stderr = drain(stderr).await;
        // A command that exits right after writing past the limit may be seen exiting before
        // its reader saw the overflow: the overflow still decides.
        let ended = match ended {
            Ended::Exited(_) if stdout.as_ref().is_some_and(|out| out.overflowed) => {
                Ended::Overflowed
            }
            ended => ended,
        };
        match ended {
            Ended::Stopped => Err(TaskError::cancel("the command was stopped")),
            Ended::Overflowed => Err(TaskError::fail(format!(
                "the command wrote more than {max} bytes to stdout, the result limit \
                 (max_result_bytes); it was stopped"
            ))),
            Ended::Exited(Err(e)) => Err(TaskError::retry(format!("waiting for the command: {e}"))),
            Ended::Exited(Ok(status)) => {
                let Some(stdout) = stdout else {
                    return Err(TaskError::fail(
                        "the command's stdout stayed open after it exited: a process that \
                         left its process group holds it",
                    ));
                };
                if status.success() {
                    return Ok(Output::from(stdout.bytes));
                }
                let stderr = stderr.unwrap_or_default();
                let tail = capture::tail_text(&stderr.bytes, FAILURE_TAIL);
                Err(TaskError::retry(format!(
                    "command exited with {}: {}",
                    describe(status),
                    tail.trim()
                )))
            }
        }
    }
}

/// What a stream reader read; empty when it failed. Waits forever for a missing reader.
async fn join(reader: &mut Option<JoinHandle<Captured>>) -> Captured {
    match reader {
        Some(handle) => handle.await.unwrap_or_default(),
        None => std::future::pending().await,
    }
}

/// What a stream reader read, once every process of the group is gone; `None` when the stream
/// stays open (held by a process outside the group).
async fn drain(reader: Option<JoinHandle<Captured>>) -> Option<Captured> {
    let Some(mut handle) = reader else {
        return Some(Captured::default());
    };
    match tokio::time::timeout(PIPE_DRAIN, &mut handle).await {
        Ok(joined) => Some(joined.unwrap_or_default()),
        Err(_) => {
            handle.abort();
            None
        }
    }
}

/// `code 3` or `signal 9`.
fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("code {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => "an unknown status".to_owned(),
    }
}
