//! [`AmqpConfig`]: what the RabbitMQ broker connects to, how many queues it spreads tasks over,
//! and its timeouts and limits. Its `Debug` output never shows the password of the URI.

use std::fmt;
use std::time::Duration;

use cogman_core::redact_uri;

/// Longest queue prefix accepted, in bytes. Every name cogman derives (queues, exchanges and
/// the delay routing keys, which add 46 bytes) must stay under AMQP's 255-byte limit.
pub const MAX_QUEUE_PREFIX_BYTES: usize = 150;

/// Settings of an [`AmqpBroker`](crate::AmqpBroker). Build it with [`AmqpConfig::new`] and
/// change the public fields you need.
///
/// ```
/// use cogman_amqp::AmqpConfig;
/// let mut config = AmqpConfig::new("amqp://guest:guest@127.0.0.1:5672/%2f");
/// config.high_queue_count = 2;
/// assert!(!format!("{config:?}").contains("guest@"));
/// ```
#[derive(Clone)]
pub struct AmqpConfig {
    /// `amqp://user:password@host:port/vhost` (amqps for TLS). A `heartbeat` query parameter
    /// is honoured; without one cogman asks for 10 s heartbeats so a dead peer is noticed fast.
    pub uri: String,
    /// Number of high-priority queues (`{prefix}high_priority_queue_{i}`). Default 1.
    pub high_queue_count: u16,
    /// Number of low-priority queues (`{prefix}low_priority_queue_{i}`). Default 1.
    pub low_queue_count: u16,
    /// Prepended to every queue and exchange name, to run several isolated cogman
    /// installations (or tests) on one vhost. Default empty. Must not contain `*` or `#`
    /// and is at most [`MAX_QUEUE_PREFIX_BYTES`] bytes.
    pub queue_prefix: String,
    /// How long a publish (or `consume`) keeps waiting for a lost connection to come back
    /// before it reports [`BrokerError::Unavailable`](cogman_core::BrokerError::Unavailable).
    /// The background supervisor keeps reconnecting forever regardless. Default 10 min.
    pub connection_timeout: Duration,
    /// How long to wait for the broker to confirm one publish. Default 5 s.
    pub confirm_timeout: Duration,
    /// Largest message body accepted, both when publishing and when consuming. Default 1 MiB.
    pub max_payload_bytes: usize,
    /// A task handed to workers this many times without being settled (crash loops,
    /// requeues) is moved to the dead-letter queue instead of being delivered again.
    /// Default 10.
    pub max_deliveries: u32,
    /// Shown by RabbitMQ as the connection name (`{connection_name}/publish`,
    /// `{connection_name}/consume`), to find cogman's connections in `rabbitmqctl
    /// list_connections client_properties`. Default `cogman`.
    pub connection_name: String,
}

impl AmqpConfig {
    /// The defaults with the given URI.
    pub fn new(uri: impl Into<String>) -> Self {
        AmqpConfig {
            uri: uri.into(),
            high_queue_count: 1,
            low_queue_count: 1,
            queue_prefix: String::new(),
            connection_timeout: Duration::from_secs(600),
            confirm_timeout: Duration::from_secs(5),
            max_payload_bytes: 1024 * 1024,
            max_deliveries: 10,
            connection_name: "cogman".into(),
        }
    }

    /// Checks the fields that cannot work.
    ///
    /// # Errors
    /// The first [`ConfigError`] found.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.high_queue_count == 0 || self.low_queue_count == 0 {
            return Err(ConfigError::NoQueues);
        }
        if self.queue_prefix.len() > MAX_QUEUE_PREFIX_BYTES {
            return Err(ConfigError::PrefixTooLong {
                len: self.queue_prefix.len(),
                max: MAX_QUEUE_PREFIX_BYTES,
            });
        }
        if self
            .queue_prefix
            .chars()
            .any(|c| c == '*' || c == '#' || c.is_control())
        {
            return Err(ConfigError::PrefixCharacter);
        }
        if self.max_deliveries == 0 {
            return Err(ConfigError::ZeroMaxDeliveries);
        }
        if self.confirm_timeout.is_zero() {
            return Err(ConfigError::ZeroConfirmTimeout);
        }
        if self.connection_name.len() > 200 {
            return Err(ConfigError::ConnectionNameTooLong);
        }
        Ok(())
    }

    /// The URI with its password replaced by `***`, for logs.
    pub fn redacted_uri(&self) -> String {
        redact_uri(&self.uri)
    }
}

impl fmt::Debug for AmqpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpConfig")
            .field("uri", &self.redacted_uri())
            .field("high_queue_count", &self.high_queue_count)
            .field("low_queue_count", &self.low_queue_count)
            .field("queue_prefix", &self.queue_prefix)
            .field("connection_timeout", &self.connection_timeout)
            .field("confirm_timeout", &self.confirm_timeout)
            .field("max_payload_bytes", &self.max_payload_bytes)
            .field("max_deliveries", &self.max_deliveries)
            .field("connection_name", &self.connection_name)
            .finish()
    }
}

/// Why an [`AmqpConfig`] was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A queue count of zero.
    #[error("high_queue_count and low_queue_count must be at least 1")]
    NoQueues,
    /// The prefix would make names longer than AMQP allows.
    #[error("queue_prefix is {len} bytes; the limit is {max}")]
    PrefixTooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The prefix holds a topic wildcard (`*`, `#`) or a control character.
    #[error("queue_prefix must not contain '*', '#' or control characters")]
    PrefixCharacter,
    /// `max_deliveries` of zero would dead-letter every task.
    #[error("max_deliveries must be at least 1")]
    ZeroMaxDeliveries,
    /// `confirm_timeout` of zero would fail every publish.
    #[error("confirm_timeout must be greater than zero")]
    ZeroConfirmTimeout,
    /// The connection name is too long for a client property.
    #[error("connection_name is longer than 200 bytes")]
    ConnectionNameTooLong,
    /// The URI does not parse.
    #[error("invalid AMQP URI {uri}: {reason}")]
    InvalidUri {
        /// The URI, password redacted.
        uri: String,
        /// What the parser said.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        let config = AmqpConfig::new("amqp://guest:hunter2@localhost");
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("guest:***@localhost"), "{shown}");
    }

    #[test]
    fn bad_configs_are_refused() {
        let mut config = AmqpConfig::new("amqp://localhost");
        assert_eq!(config.validate(), Ok(()));
        config.high_queue_count = 0;
        assert_eq!(config.validate(), Err(ConfigError::NoQueues));
        config.high_queue_count = 1;
        config.queue_prefix = "a.*".into();
        assert_eq!(config.validate(), Err(ConfigError::PrefixCharacter));
        config.queue_prefix = "x".repeat(151);
        assert!(matches!(
            config.validate(),
            Err(ConfigError::PrefixTooLong { len: 151, .. })
        ));
        config.queue_prefix = "ok.".into();
        config.max_deliveries = 0;
        assert_eq!(config.validate(), Err(ConfigError::ZeroMaxDeliveries));
    }
}
