//! [`ConsumeContext`]: what a broker's consumers, their screening and their delivery handles
//! share — the courier that moves messages, the tracker its moves run in, and the limits.

use std::sync::Arc;

use cogman_core::Limits;
use tokio_util::task::TaskTracker;

use crate::config::QueueType;
use crate::courier::Courier;

/// What screening and delivery handles share.
#[derive(Debug)]
pub(crate) struct ConsumeContext {
    pub(crate) courier: Arc<Courier>,
    /// Runs the moves of screened-out messages.
    pub(crate) tracker: TaskTracker,
    pub(crate) limits: Limits,
    pub(crate) max_deliveries: u32,
    /// Quorum queues count redeliveries themselves (no restamping).
    pub(crate) queue_type: QueueType,
}
