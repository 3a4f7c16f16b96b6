//! How sqlx errors become [`TaskLogError`]s, and the retry loop for calls cut by a lost
//! connection, a deadlock or a serialization failure (every call of this crate is
//! idempotent, so retrying cannot apply a change twice).

use std::future::Future;

use cogman_core::{TaskLogError, retry_transient};
use sqlx_core::Error;

/// True when the same call may succeed on a new connection or a little later.
pub(crate) fn is_transient(error: &Error) -> bool {
    match error {
        Error::Io(_) | Error::Tls(_) | Error::PoolTimedOut | Error::WorkerCrashed => true,
        Error::Protocol(_) => true,
        Error::Database(db) => db.code().is_some_and(|code| {
            // 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot
            // connect now; 40001 serialization failure; 40P01 deadlock; 53300 too many
            // connections.
            code.starts_with("08")
                || matches!(
                    code.as_ref(),
                    "57P01" | "57P02" | "57P03" | "40001" | "40P01" | "53300"
                )
        }),
        _ => false,
    }
}

/// Transient errors are [`TaskLogError::Unavailable`]; anything else is
/// [`TaskLogError::Other`].
pub(crate) fn into_log_error(error: Error) -> TaskLogError {
    if is_transient(&error) {
        TaskLogError::Unavailable(Box::new(error))
    } else {
        TaskLogError::Other(Box::new(error))
    }
}

/// `error` and its sources on one line (to hand one failure to several callers, or to log it).
pub(crate) fn error_chain(error: &TaskLogError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// One failure for several callers: each call of the returned function makes a copy of
/// `error` (its message chain), `Unavailable` when it is transient and `Other` otherwise.
pub(crate) fn copies(error: &TaskLogError) -> impl Fn() -> TaskLogError + use<> {
    let message = error_chain(error);
    let transient = error.is_transient();
    move || {
        if transient {
            TaskLogError::Unavailable(message.clone().into())
        } else {
            TaskLogError::Other(message.clone().into())
        }
    }
}

/// Runs `op`, retrying it up to `retries` times while it fails transiently (see
/// [`cogman_core::retry_transient`]).
pub(crate) async fn retry<T, F, Fut>(
    what: &'static str,
    retries: u32,
    op: F,
) -> Result<T, TaskLogError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, Error>>,
{
    retry_transient(retries, is_transient, op, |error, attempt, delay| {
        tracing::debug!(%error, attempt, ?delay, what, "postgres call failed; retrying");
        tokio::time::sleep(delay)
    })
    .await
    .map_err(|error| {
        tracing::warn!(%error, what, "postgres call failed");
        into_log_error(error)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_trouble_is_transient() {
        assert!(is_transient(&Error::PoolTimedOut));
        assert!(is_transient(&Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset
        ))));
        assert!(!is_transient(&Error::RowNotFound));
        assert!(matches!(
            into_log_error(Error::PoolTimedOut),
            TaskLogError::Unavailable(_)
        ));
        assert!(matches!(
            into_log_error(Error::RowNotFound),
            TaskLogError::Other(_)
        ));
    }
}
