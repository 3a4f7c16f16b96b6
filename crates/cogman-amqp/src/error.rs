//! How lapin's errors and this crate's own failures become [`BrokerError`]s: anything about
//! the connection or a channel is [`BrokerError::Unavailable`] (transient: cogman reconnects),
//! a refused topology or bad configuration is [`BrokerError::Other`].

use cogman_core::BrokerError;

use crate::config::ConfigError;

/// A connection or channel failure: transient.
pub(crate) fn unavailable(error: lapin::Error) -> BrokerError {
    BrokerError::Unavailable(Box::new(error))
}

/// A transient failure described in words (for example "connection lost, still reconnecting").
pub(crate) fn unavailable_msg(message: impl Into<String>) -> BrokerError {
    BrokerError::Unavailable(Box::new(Message(message.into())))
}

/// A configuration that cannot work.
pub(crate) fn config(error: ConfigError) -> BrokerError {
    BrokerError::Other(Box::new(error))
}

/// Why the first connection failed: access refused and precondition failures (a queue that
/// exists with other arguments) are permanent, everything else is transient.
pub(crate) fn connect(error: lapin::Error) -> BrokerError {
    use lapin::protocol::{AMQPErrorKind, AMQPHardError, AMQPSoftError};
    match error.kind() {
        lapin::ErrorKind::ProtocolError(e)
            if matches!(
                e.kind(),
                AMQPErrorKind::Soft(AMQPSoftError::PRECONDITIONFAILED)
                    | AMQPErrorKind::Soft(AMQPSoftError::ACCESSREFUSED)
                    | AMQPErrorKind::Hard(AMQPHardError::NOTALLOWED)
            ) =>
        {
            BrokerError::Other(Box::new(error))
        }
        lapin::ErrorKind::AuthProviderError(_) => BrokerError::Other(Box::new(error)),
        _ => unavailable(error),
    }
}

/// An error and its sources on one line, for logs and state reports.
pub(crate) fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A plain error message, used as the source of a [`BrokerError`].
#[derive(Debug)]
pub(crate) struct Message(pub(crate) String);

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Message {}
