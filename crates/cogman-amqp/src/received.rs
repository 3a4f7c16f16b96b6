//! [`Received`]: a message as a consumer received it, with what is needed to settle it or
//! move it elsewhere. Shared by the consumer, the delivery handles and the courier.

use std::sync::Arc;

use lapin::types::ShortString;
use lapin::{Acker, BasicProperties, Channel};

/// A message as received, with what is needed to settle or move it.
pub(crate) struct Received {
    pub(crate) acker: Acker,
    /// Held so the channel stays open until this delivery is settled, even after the
    /// consumer that received it was dropped.
    pub(crate) _channel: Channel,
    pub(crate) queue: ShortString,
    /// The named queue whose set `queue` belongs to: the task's queue, whatever its header says.
    pub(crate) named: Arc<str>,
    pub(crate) redelivered: bool,
    pub(crate) properties: BasicProperties,
    pub(crate) body: Vec<u8>,
}

impl std::fmt::Debug for Received {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Received")
            .field("queue", &self.queue)
            .field("redelivered", &self.redelivered)
            .field("message_id", self.properties.message_id())
            .field("body_bytes", &self.body.len())
            .finish_non_exhaustive()
    }
}
