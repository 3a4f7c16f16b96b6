//! `cogman send --wait`: follows a task through every attempt until one ends the chain
//! (success, failure with no retry left, cancellation), then prints the result and turns the
//! outcome into the exit code.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Result, bail};
use cogman::{Task, TaskDetails, TaskId, TaskState};

use crate::display;
use crate::output::write_raw;

/// How often the log is read while waiting.
const POLL_EVERY: Duration = Duration::from_millis(100);

/// Reads the task's details (`read_details`) until an attempt decides it
/// ([`TaskDetails::outcome`]), and returns that attempt.
pub(crate) async fn outcome(read_details: impl AsyncFn() -> Result<TaskDetails>) -> Result<Task> {
    loop {
        if let Some(task) = read_details().await?.outcome() {
            return Ok(task.clone());
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// Prints what the deciding attempt of task `id` says: the result on stdout (its bytes as they
/// are when stdout is not a terminal, with control characters escaped on a terminal) and a line
/// on stderr; fails (exit code 1) when the task failed or was cancelled.
pub(crate) fn report(id: TaskId, last: &Task) -> Result<()> {
    let attempts = last.attempt + 1;
    match last.status {
        TaskState::Success => {
            let result = last.result.as_deref().unwrap_or_default();
            if std::io::stdout().is_terminal() {
                let mut text = display::terminal_safe(result);
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
                write_raw(text.as_bytes())?;
            } else {
                write_raw(result)?;
            }
            eprintln!("task {id} succeeded (attempts: {attempts})");
            Ok(())
        }
        TaskState::Cancelled => bail!("task {id} was cancelled (attempts: {attempts})"),
        state => bail!(
            "task {id} {state} after {attempts} attempt(s): {}",
            display::escape(last.fail_error.as_deref().unwrap_or("no error recorded"))
        ),
    }
}
