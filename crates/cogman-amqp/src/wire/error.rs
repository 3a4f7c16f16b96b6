//! [`DecodeError`]: why a message does not match `docs/wire-format.md`; its text becomes the
//! dead-letter reason.

use super::WIRE_VERSION;

/// Why a message is not a valid cogman task.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The body is larger than `max_payload_bytes`.
    #[error("body is {len} bytes; the limit is {max} bytes")]
    BodyTooLarge {
        /// Body length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// No `message_id` property.
    #[error("message_id is missing (it must be the task id, a UUID)")]
    MissingMessageId,
    /// `message_id` is not a UUID.
    #[error("message_id {0:?} is not a UUID")]
    BadMessageId(String),
    /// No headers at all.
    #[error(
        "the message has no headers (cogman-version, cogman-task-name, cogman-priority are required)"
    )]
    NoHeaders,
    /// A required header is missing.
    #[error("header {0} is missing")]
    MissingHeader(&'static str),
    /// A header has the wrong AMQP type.
    #[error("header {header} must be {expected}")]
    WrongType {
        /// Header name.
        header: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// A header has the right type but an unacceptable value.
    #[error("header {header} is invalid: {reason}")]
    InvalidValue {
        /// Header name.
        header: &'static str,
        /// Why.
        reason: String,
    },
    /// A `cogman-version` this crate does not read.
    #[error("unknown cogman-version {0} (this worker reads version {WIRE_VERSION})")]
    UnknownVersion(i64),
}
