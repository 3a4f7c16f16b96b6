//! [`ShellHandler`]: a handler that runs a shell command — the payload on its stdin, its
//! stdout as the result, a non-zero exit as a (retryable) failure carrying the end of stderr.
//! Task metadata is passed in `COGMAN_TASK_ID`, `COGMAN_TASK_NAME`, `COGMAN_ATTEMPT` and
//! `COGMAN_PRIMARY_KEY`. The process is killed if the task is cancelled or times out.

use std::process::Stdio;

use cogman::{Handler, Output, TaskContext, TaskError};
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

/// Most stderr bytes kept in a failure message.
const STDERR_TAIL: usize = 2000;

/// Runs `sh -c COMMAND` for each task.
#[derive(Debug, Clone)]
pub(crate) struct ShellHandler {
    command: String,
}

impl ShellHandler {
    pub(crate) fn new(command: String) -> Self {
        ShellHandler { command }
    }
}

#[async_trait::async_trait]
impl Handler for ShellHandler {
    async fn call(&self, ctx: TaskContext, payload: Vec<u8>) -> Result<Output, TaskError> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .env("COGMAN_TASK_ID", ctx.task_id.to_string())
            .env("COGMAN_TASK_NAME", &ctx.name)
            .env("COGMAN_ATTEMPT", ctx.attempt.to_string())
            .env(
                "COGMAN_PRIMARY_KEY",
                ctx.primary_key.as_deref().unwrap_or(""),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| TaskError::fail(format!("cannot start `{}`: {e}", self.command)))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A command that does not read its stdin closes the pipe early; that is not an error.
            let _ = stdin.write_all(&payload).await;
        }
        let output = child
            .wait_with_output()
            .await
            .map_err(|e| TaskError::retry(format!("waiting for the command: {e}")))?;
        if output.status.success() {
            return Ok(Output::from(output.stdout));
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: String = stderr
            .chars()
            .rev()
            .take(STDERR_TAIL)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let code = output
            .status
            .code()
            .map_or_else(|| "a signal".to_owned(), |c| format!("code {c}"));
        Err(TaskError::retry(format!(
            "command exited with {code}: {}",
            tail.trim()
        )))
    }
}
