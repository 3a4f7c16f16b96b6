//! [`TaskError`]: what a handler returns when it does not succeed. Its [`Disposition`] — not a
//! string match on the message — decides what the worker does next.

use std::fmt;
use std::time::Duration;

/// What the worker does with a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Retry with the configured backoff while budget remains (the default).
    Retry,
    /// Retry after exactly this delay while budget remains.
    RetryAfter(Duration),
    /// Fail now, whatever budget remains.
    Fail,
    /// Stop: record the task as cancelled.
    Cancel,
}

/// A handler's failure. Any `std::error::Error` converts into a retryable `TaskError` with `?`;
/// the constructors choose another [`Disposition`].
///
/// ```
/// use std::time::Duration;
/// use cogman_core::{Disposition, TaskError};
/// let e = TaskError::retry_after("rate limited", Duration::from_secs(30));
/// assert_eq!(e.disposition(), Disposition::RetryAfter(Duration::from_secs(30)));
/// let parsed: Result<u32, TaskError> = "x".parse::<u32>().map_err(TaskError::from);
/// assert_eq!(parsed.unwrap_err().disposition(), Disposition::Retry);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskError {
    disposition: Disposition,
    message: String,
}

impl TaskError {
    /// A failure to retry with backoff (while budget remains).
    pub fn retry(message: impl fmt::Display) -> Self {
        TaskError {
            disposition: Disposition::Retry,
            message: message.to_string(),
        }
    }

    /// A failure to retry after `delay` (while budget remains).
    pub fn retry_after(message: impl fmt::Display, delay: Duration) -> Self {
        TaskError {
            disposition: Disposition::RetryAfter(delay),
            message: message.to_string(),
        }
    }

    /// A failure not worth retrying.
    pub fn fail(message: impl fmt::Display) -> Self {
        TaskError {
            disposition: Disposition::Fail,
            message: message.to_string(),
        }
    }

    /// Stop the task and record it as cancelled.
    pub fn cancel(message: impl fmt::Display) -> Self {
        TaskError {
            disposition: Disposition::Cancel,
            message: message.to_string(),
        }
    }

    /// What the worker does next.
    pub fn disposition(&self) -> Disposition {
        self.disposition
    }

    /// The message recorded as the task's `fail_error`.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl<E: std::error::Error> From<E> for TaskError {
    fn from(error: E) -> Self {
        TaskError::retry(error)
    }
}
