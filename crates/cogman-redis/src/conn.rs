//! The connection: one multiplexed [`ConnectionManager`] shared by every clone of the log
//! (concurrent calls are pipelined on it), plus the retry loop. The manager reconnects in the
//! background, but the command that noticed the drop fails; every command this crate sends is
//! idempotent (writes only ever advance a state), so it is retried with a short backoff.
//!
//! The manager is created by the first connection attempt that succeeds, so a log can be opened
//! while Redis is down: until then each command makes one attempt itself (at most
//! `connect_timeout`, waiting for an attempt in flight instead of starting another) and fails
//! with a connection error, and [`spawn_connector`] keeps trying in the background with
//! [`Backoff::RECONNECT`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use cogman_core::{Backoff, Retry, TaskLogError, retry_transient, spawn_retrying};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{RedisError, RedisResult, RetryMethod};
use tokio::sync::OnceCell;

use crate::config::RedisConfig;
use cogman_core::redact_uri;

/// A connection plus the retry policy.
#[derive(Clone)]
pub(crate) struct Conn {
    slot: Arc<ManagerSlot>,
    retries: u32,
}

/// Where the [`ConnectionManager`] goes once a connection attempt succeeds.
struct ManagerSlot {
    client: redis::Client,
    config: ConnectionManagerConfig,
    connect_timeout: Duration,
    /// The URI with its password redacted, for messages.
    redacted_uri: String,
    manager: OnceCell<ConnectionManager>,
}

impl ManagerSlot {
    /// The manager; before the first success, one connection attempt (this call's, or the one
    /// in flight), bounded by `connect_timeout` in all.
    async fn manager(&self) -> RedisResult<ConnectionManager> {
        if let Some(manager) = self.manager.get() {
            return Ok(manager.clone());
        }
        let attempt = self.manager.get_or_try_init(|| {
            ConnectionManager::new_with_config(self.client.clone(), self.config.clone())
        });
        match tokio::time::timeout(self.connect_timeout, attempt).await {
            Ok(manager) => manager.cloned(),
            Err(_) => Err(RedisError::from(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "no connection to Redis at {} within {:?}",
                    self.redacted_uri, self.connect_timeout
                ),
            ))),
        }
    }
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn")
            .field("retries", &self.retries)
            .finish_non_exhaustive()
    }
}

impl Conn {
    /// Opens the connection. When the server cannot be reached now, answers Ok anyway (with a
    /// warning) and connects later: see the module documentation.
    ///
    /// # Errors
    /// [`TaskLogError::InvalidQuery`] for a malformed URI; [`TaskLogError::Other`] when the
    /// server answers but refuses (authentication, for instance).
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
        let slot = Arc::new(ManagerSlot {
            client,
            config: manager_config,
            connect_timeout: config.connect_timeout,
            redacted_uri: redact_uri(&config.uri),
            manager: OnceCell::new(),
        });
        match slot.manager().await.map_err(into_log_error) {
            Ok(_) => {}
            Err(TaskLogError::Unavailable(error)) => {
                tracing::warn!(
                    %error,
                    uri = %slot.redacted_uri,
                    "Redis cannot be reached; calls answer Unavailable until it can"
                );
                spawn_connector(&slot);
            }
            Err(error) => return Err(error),
        }
        Ok(Conn {
            slot,
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
        let manager = self
            .slot
            .manager()
            .await
            .inspect_err(|error| tracing::debug!(%error, what, "redis is not connected yet"))?;
        retry_transient(
            self.retries,
            is_retryable,
            || op(manager.clone()),
            |error, attempt, delay| {
                tracing::debug!(%error, attempt, ?delay, what, "redis command failed; retrying");
                tokio::time::sleep(delay)
            },
        )
        .await
        .inspect_err(|error| tracing::warn!(%error, what, "redis command failed"))
    }
}

/// Retries the first connection in the background until it succeeds. Stops early when every
/// handle of the log is dropped, or the server refuses for a reason that waiting does not fix
/// (calls still make their own attempts then).
fn spawn_connector(slot: &Arc<ManagerSlot>) {
    spawn_retrying(slot, Backoff::RECONNECT, |slot, attempt| async move {
        match slot.manager().await.map_err(into_log_error) {
            Ok(_) => {
                tracing::info!(uri = %slot.redacted_uri, "connected to Redis");
                Retry::Stop
            }
            Err(TaskLogError::Unavailable(error)) => {
                tracing::debug!(%error, attempt, "Redis cannot be reached yet");
                Retry::Again
            }
            Err(error) => {
                tracing::error!(%error, "Redis refused the connection; calls will keep trying");
                Retry::Stop
            }
        }
    });
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
