//! cogman's AMQP wire format, version [`WIRE_VERSION`]: the payload is the message body, the
//! task's fields travel in message properties and `cogman-*` headers. The normative,
//! language-neutral description is `docs/wire-format.md`; this module is its implementation.
//!
//! - [`headers`]: the header names.
//! - [`encode`]: a [`Task`](cogman_core::Task) to message properties.
//! - [`decode`]: message properties and body back to a task, or a [`DecodeError`] saying why
//!   the message is malformed (it is then dead-lettered, never handed to a worker).

mod decode;
mod encode;
mod error;
mod fields;
#[cfg(test)]
mod fuzz;

pub use decode::{Decoded, decode};
pub use encode::encode;
pub(crate) use encode::{republish_properties, text, timestamp};
pub use error::DecodeError;

/// The wire format version this crate writes and reads (header `cogman-version`).
pub const WIRE_VERSION: i64 = 1;

/// `content_type` of every task message: the body is opaque bytes.
pub const CONTENT_TYPE: &str = "application/octet-stream";

/// Header names. Task fields use the `cogman-` prefix; bookkeeping added by cogman while a
/// message moves between queues uses `x-cogman-`.
pub mod headers {
    /// Integer, required: the wire format version ([`WIRE_VERSION`](super::WIRE_VERSION)).
    pub const VERSION: &str = "cogman-version";
    /// String, required: the registered handler name.
    pub const TASK_NAME: &str = "cogman-task-name";
    /// String, optional (`default`): the named queue the task was sent to (1 to 64 characters
    /// among `A-Z a-z 0-9 _ . -`). A message taken from a named queue's set belongs to that
    /// queue whatever this says.
    pub const QUEUE: &str = "cogman-queue";
    /// String, required: `High` or `Low`.
    pub const PRIORITY: &str = "cogman-priority";
    /// Integer, optional (0): retries left.
    pub const RETRY: &str = "cogman-retry";
    /// Integer, optional (0): 0 for a first attempt, 1 for the first retry, …
    pub const ATTEMPT: &str = "cogman-attempt";
    /// String (UUID), optional (the message id): the id of the first attempt.
    pub const ORIGINAL_TASK_ID: &str = "cogman-original-task-id";
    /// String, optional: the caller's trace key.
    pub const PRIMARY_KEY: &str = "cogman-primary-key";
    /// String (RFC 3339), optional (time of receipt): when the task was accepted.
    pub const CREATED_AT: &str = "cogman-created-at";
    /// String (RFC 3339), optional: run no earlier than this.
    pub const RUN_AT: &str = "cogman-run-at";
    /// Integer, optional: handler timeout in milliseconds (> 0).
    pub const TIMEOUT_MS: &str = "cogman-timeout-ms";
    /// String (JSON), optional: workflow membership.
    pub const WORKFLOW: &str = "cogman-workflow";
    /// String, optional: the unique key the task's chain holds until it ends; the worker
    /// releases it when the chain ends.
    pub const UNIQUE_KEY: &str = "cogman-unique-key";
    /// String, optional: the W3C trace context of the span that sent the task
    /// (`00-{trace id}-{span id}-{flags}`); the worker's spans join that trace. A value that
    /// does not parse is ignored, never a reason to refuse the task.
    pub const TRACEPARENT: &str = "traceparent";
    /// String, optional: the W3C `tracestate` that goes with [`TRACEPARENT`], passed on
    /// unchanged.
    pub const TRACESTATE: &str = "tracestate";
    /// Integer, set by cogman: deliveries of this task that were not settled.
    pub const DELIVERIES: &str = "x-cogman-deliveries";
    /// Integer, set by RabbitMQ on a message redelivered from a quorum queue: how many times
    /// it was returned (delivered and not acked). Added to [`DELIVERIES`] by cogman.
    pub const BROKER_DELIVERY_COUNT: &str = "x-delivery-count";
    /// Integer, set by cogman: times a worker without a handler for the task deferred it.
    pub const HANDLER_WAITS: &str = "x-cogman-handler-waits";
    /// String (RFC 3339), set by cogman: when a worker first deferred the task for want of a
    /// handler (the wait for one is measured from it).
    pub const WAITING_SINCE: &str = "x-cogman-waiting-since";
    /// String, set on dead-lettered messages: why.
    pub const DEAD_LETTER_REASON: &str = "x-cogman-dead-letter-reason";
    /// String, set on dead-lettered messages: the queue the message was taken from.
    pub const DEAD_LETTER_QUEUE: &str = "x-cogman-dead-letter-queue";
    /// String (RFC 3339), set on dead-lettered messages: when.
    pub const DEAD_LETTERED_AT: &str = "x-cogman-dead-lettered-at";
}
