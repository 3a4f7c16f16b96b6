//! The connection: one multiplexed [`ConnectionManager`] shared by every clone of the log
//! (concurrent calls are pipelined on it), plus the retry loop. The manager reconnects in the
//! background, but the command that noticed the drop fails; every command this crate sends is
//! idempotent (writes only ever advance a state), so it is retried with a short backoff.

use std::future::Future;

use cogman_core::{Backoff, TaskLogError, retry_transient};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, RedisResult, RetryMethod};

use crate::config::RedisConfig;
use cogman_core::redact_uri;

/// A connection plus the retry policy.
#[derive(Clone)]
pub(crate) struct Conn {
    manager: ConnectionManager,
    retries: u32,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Opens the connection (and fails if the server cannot be reached now).
    pub(crate) async fn open(config: &RedisConfig) -> Result<Conn, TaskLogError> {
        let client = redis::Client::open(config.uri.as_str()).map_err(|e| {
            TaskLogError::InvalidQuery(format!(
                "invalid Redis URI {}: {e}",
                redact_uri(&config.uri)
            ))
        })?;
        let manager_config = ConnectionManagerConfig::new()
            .set_response_timeout(Some(config.response_timeout))
            .set_connection_timeout(Some(config.connect_timeout))
            .set_min_delay(Backoff::RECONNECT.base)
            .set_max_delay(Backoff::RECONNECT.max);
        let manager = ConnectionManager::new_with_config(client, manager_config)
            .await
            .map_err(into_log_error)?;
        Ok(Conn {
            manager,
            retries: config.retries,
        })
    }

    /// Runs `op` on the connection, retrying it while it fails for a reason a reconnect cures
    /// (see [`cogman_core::retry_transient`]).
    pub(crate) async fn run<T, F, Fut>(&self, what: &'static str, op: F) -> Result<T, TaskLogError>
    where
        F: FnMut(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        self.run_keeping_error(what, op)
            .await
            .map_err(into_log_error)
    }

    /// [`Conn::run`], answering the last [`RedisError`] itself (it is `Clone`, so one failed
    /// batch can hand a copy to each of its callers).
    pub(crate) async fn run_keeping_error<T, F, Fut>(
        &self,
        what: &'static str,
        mut op: F,
    ) -> RedisResult<T>
    where
        F: FnMut(ConnectionManager) -> Fut,
        Fut: Future<Output = RedisResult<T>>,
    {
        retry_transient(
            self.retries,
            is_retryable,
            || op(self.manager.clone()),
            |error, attempt, delay| {
                tracing::debug!(%error, attempt, ?delay, what, "redis command failed; retrying");
                tokio::time::sleep(delay)
            },
        )
        .await
        .inspect_err(|error| tracing::warn!(%error, what, "redis command failed"))
    }
}

/// True when the same command may succeed on a new connection or a little later.
fn is_retryable(error: &RedisError) -> bool {
    error.is_io_error()
        || error.is_timeout()
        || matches!(
            error.retry_method(),
            RetryMethod::Reconnect
                | RetryMethod::ReconnectFromInitialConnections
                | RetryMethod::RetryImmediately
                | RetryMethod::WaitAndRetry
        )
}

/// Connection trouble is [`TaskLogError::Unavailable`]; anything else is
/// [`TaskLogError::Other`].
pub(crate) fn into_log_error(error: RedisError) -> TaskLogError {
    if is_retryable(&error) || error.is_connection_refusal() {
        TaskLogError::Unavailable(Box::new(error))
    } else {
        TaskLogError::Other(Box::new(error))
    }
}
