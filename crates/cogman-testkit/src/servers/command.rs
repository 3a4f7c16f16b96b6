//! Running the programs that drive the private servers: with captured output and a typed error
//! naming the command, or with every stream closed (for programs that leave daemons behind,
//! which must not inherit our pipes).

use std::ffi::OsStr;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use tokio::time::Instant;

use super::ServerError;

/// The last bytes of a program's output kept in an error.
const TAIL: usize = 1500;

/// The end of `text`, at most [`TAIL`] bytes.
pub(crate) fn tail(text: &str) -> String {
    let mut start = text.len().saturating_sub(TAIL);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    text[start..].trim().to_owned()
}

/// The command line, for messages.
pub(crate) fn describe(command: &Command) -> String {
    let std = command.as_std();
    std::iter::once(std.get_program())
        .chain(std.get_args())
        .map(OsStr::to_string_lossy)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `command` to the end; its stdout on success.
///
/// # Errors
/// [`ServerError::Spawn`] or [`ServerError::Failed`] with the end of its output.
pub(crate) async fn output(command: &mut Command) -> Result<String, ServerError> {
    let line = describe(command);
    let out = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|source| ServerError::Spawn {
            command: line.clone(),
            source,
        })?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    Err(ServerError::Failed {
        command: line,
        status: out.status.to_string(),
        output: tail(&format!("{stdout}\n{stderr}")),
    })
}

/// Runs `command` with every stream closed; `log` (read on failure) says what went wrong.
///
/// # Errors
/// [`ServerError::Spawn`] or [`ServerError::Failed`] with the end of `log`.
pub(crate) async fn quiet(command: &mut Command, log: &std::path::Path) -> Result<(), ServerError> {
    let line = describe(command);
    let status = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .map_err(|source| ServerError::Spawn {
            command: line.clone(),
            source,
        })?;
    if status.success() {
        return Ok(());
    }
    let logged = std::fs::read_to_string(log).unwrap_or_default();
    Err(ServerError::Failed {
        command: line,
        status: status.to_string(),
        output: tail(&logged),
    })
}

/// Runs a blocking command from a destructor; true when it succeeded.
pub(crate) fn best_effort(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Waits until something accepts TCP connections on 127.0.0.1:`port`.
///
/// # Errors
/// [`ServerError::Timeout`].
pub(crate) async fn until_listening(port: u16, timeout: Duration) -> Result<(), ServerError> {
    let deadline = Instant::now() + timeout;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        if Instant::now() >= deadline {
            return Err(ServerError::Timeout {
                what: format!("a listener on port {port}"),
                timeout,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

/// Waits until nothing accepts TCP connections on 127.0.0.1:`port` any more.
///
/// # Errors
/// [`ServerError::Timeout`].
pub(crate) async fn until_closed(port: u16, timeout: Duration) -> Result<(), ServerError> {
    let deadline = Instant::now() + timeout;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_ok()
    {
        if Instant::now() >= deadline {
            return Err(ServerError::Timeout {
                what: format!("port {port} to close"),
                timeout,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
