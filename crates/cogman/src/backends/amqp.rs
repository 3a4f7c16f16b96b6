//! RabbitMQ: its config section, [`AmqpConfig`], and [`open`], which connects the broker.

use cogman_amqp::config::{redact_uris, split_uris};
use cogman_amqp::{AmqpBroker, QueueType};
use serde::{Deserialize, Serialize};

use super::backend_error;
use crate::config::{Config, ConfigError, check_name, check_uri, fail};
use crate::error::Error;

/// The `[amqp]` section: RabbitMQ is the broker when `uri` is set.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AmqpConfig {
    /// RabbitMQ URI (`amqp://` or `amqps://`). Unset: the embedded SQLite queue. Several
    /// URIs separated by commas (the nodes of a cluster) are tried in turn.
    pub uri: Option<String>,
    /// `classic` (default) or `quorum` queues (for a RabbitMQ cluster).
    #[serde(with = "queue_type_text")]
    pub queue_type: QueueType,
    /// Number of high-priority queues. Default 1.
    pub high_priority_queue_count: u16,
    /// Number of low-priority (lazy) queues. Default 1.
    pub low_priority_queue_count: u16,
    /// Prefix of every queue name. Default empty: the seed's names.
    pub queue_prefix: String,
}

impl Default for AmqpConfig {
    fn default() -> Self {
        AmqpConfig {
            uri: None,
            queue_type: QueueType::Classic,
            high_priority_queue_count: 1,
            low_priority_queue_count: 1,
            queue_prefix: String::new(),
        }
    }
}

impl AmqpConfig {
    /// The defaults with RabbitMQ at `uri`.
    pub fn new(uri: impl Into<String>) -> Self {
        AmqpConfig {
            uri: Some(uri.into()),
            ..AmqpConfig::default()
        }
    }

    /// Checks the section.
    ///
    /// # Errors
    /// The first [`ConfigError`] found, naming an `amqp.*` field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(uri) = self.uri.as_deref() {
            if split_uris(uri).next().is_none() {
                return Err(fail("amqp.uri", "no URI given"));
            }
            for one in split_uris(uri) {
                check_uri("amqp.uri", Some(one), &["amqp", "amqps"])?;
            }
        }
        if self.high_priority_queue_count == 0 {
            return Err(fail("amqp.high_priority_queue_count", "must be at least 1"));
        }
        if self.low_priority_queue_count == 0 {
            return Err(fail("amqp.low_priority_queue_count", "must be at least 1"));
        }
        check_name("amqp.queue_prefix", &self.queue_prefix, true)
    }
}

impl std::fmt::Debug for AmqpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AmqpConfig")
            .field("uri", &self.uri.as_deref().map(redact_uris))
            .field("queue_type", &self.queue_type)
            .field("high_priority_queue_count", &self.high_priority_queue_count)
            .field("low_priority_queue_count", &self.low_priority_queue_count)
            .field("queue_prefix", &self.queue_prefix)
            .finish()
    }
}

/// Connects to RabbitMQ at `uri` with the settings of `config`.
pub(super) async fn open(uri: &str, config: &Config) -> Result<AmqpBroker, Error> {
    let mut amqp = cogman_amqp::AmqpConfig::new(uri);
    amqp.queue_type = config.amqp.queue_type;
    amqp.high_queue_count = config.amqp.high_priority_queue_count;
    amqp.low_queue_count = config.amqp.low_priority_queue_count;
    amqp.queue_prefix.clone_from(&config.amqp.queue_prefix);
    amqp.connection_timeout = config.connection_timeout;
    amqp.confirm_timeout = config.request_timeout;
    amqp.max_payload_bytes = config.max_payload_bytes;
    amqp.max_deliveries = config.max_deliveries;
    AmqpBroker::connect(amqp)
        .await
        .map_err(|e| backend_error("rabbitmq", e))
}

/// `queue_type` as its text, `classic` or `quorum`.
mod queue_type_text {
    use cogman_amqp::QueueType;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(kind: &QueueType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(kind.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<QueueType, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
