//! [`AmqpConfig`]: what the RabbitMQ broker connects to, how many queues it spreads tasks over,
//! and its timeouts and limits. Its `Debug` output never shows the password of the URI.

use std::fmt;
use std::time::Duration;

use cogman_core::redact_uri;

/// The kind of RabbitMQ queue cogman declares (every queue of an installation is of one kind).
/// See "Quorum queues" in `docs/wire-format.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QueueType {
    /// Durable classic queues (`x-queue-mode` default/lazy); cogman counts redeliveries itself
    /// with `x-cogman-deliveries`. The default, and the only kind a single node needs.
    #[default]
    Classic,
    /// Replicated quorum queues (`x-queue-type: quorum`) for a RabbitMQ cluster: the broker
    /// counts redeliveries (`x-delivery-count`) and enforces `x-delivery-limit`.
    Quorum,
}

impl QueueType {
    /// `classic` or `quorum`, the value of `x-queue-type`.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueType::Classic => "classic",
            QueueType::Quorum => "quorum",
        }
    }
}

impl std::str::FromStr for QueueType {
    type Err = ConfigError;

    fn from_str(text: &str) -> Result<Self, ConfigError> {
        match text {
            "classic" => Ok(QueueType::Classic),
            "quorum" => Ok(QueueType::Quorum),
            _ => Err(ConfigError::UnknownQueueType(text.to_owned())),
        }
    }
}

/// The broker addresses of a `uri` setting: one URI, or several separated by commas (the
/// nodes of a cluster, tried in turn), blanks around each ignored, empty parts dropped.
pub fn split_uris(uri: &str) -> impl Iterator<Item = &str> {
    uri.split(',')
        .map(str::trim)
        .filter(|part| !part.is_empty())
}

/// Every URI of a (comma-separated) `uri` setting with its password replaced by `***`.
pub fn redact_uris(uri: &str) -> String {
    split_uris(uri)
        .map(redact_uri)
        .collect::<Vec<_>>()
        .join(",")
}

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
    /// Several URIs separated by commas (the nodes of a cluster) are tried in turn: the
    /// first one first, then, whenever a connection attempt fails or a live connection is
    /// lost, the next one (round-robin).
    pub uri: String,
    /// Classic (default) or quorum queues. Quorum queues need RabbitMQ 3.10 or later; an
    /// installation cannot switch kinds without deleting its queues (RabbitMQ refuses to
    /// redeclare a queue with another type).
    pub queue_type: QueueType,
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
            queue_type: QueueType::Classic,
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
        if split_uris(&self.uri).next().is_none() {
            return Err(ConfigError::InvalidUri {
                uri: String::new(),
                reason: "no URI given".into(),
            });
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
        redact_uris(&self.uri)
    }
}

impl fmt::Debug for AmqpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AmqpConfig")
            .field("uri", &self.redacted_uri())
            .field("queue_type", &self.queue_type)
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
    /// A `queue_type` other than `classic` or `quorum`.
    #[error("queue_type must be \"classic\" or \"quorum\", not {0:?}")]
    UnknownQueueType(String),
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
        let config = AmqpConfig::new("amqp://a:pw1@h1, amqp://b:pw2@h2");
        let shown = config.redacted_uri();
        assert_eq!(shown, "amqp://a:***@h1,amqp://b:***@h2");
    }

    #[test]
    fn queue_types_parse() {
        assert_eq!("quorum".parse(), Ok(QueueType::Quorum));
        assert_eq!("classic".parse(), Ok(QueueType::Classic));
        assert_eq!(
            "stream".parse::<QueueType>(),
            Err(ConfigError::UnknownQueueType("stream".into()))
        );
        assert_eq!(
            AmqpConfig::new(" , ")
                .validate()
                .map_err(|e| matches!(e, ConfigError::InvalidUri { .. })),
            Err(true)
        );
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
