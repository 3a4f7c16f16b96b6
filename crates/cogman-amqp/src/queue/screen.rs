//! Screening of each received message before a worker sees it:
//!
//! 1. Malformed (see [`DecodeError`](crate::wire::DecodeError)) → dead-lettered with the
//!    reason, logged with `warn!`, never requeued.
//! 2. Redelivered by the broker (a worker crashed, a channel closed, or it was requeued) →
//!    classic queues do not count deliveries, so cogman records the lost delivery itself: the
//!    message is republished to the tail of its queue with `x-cogman-deliveries` + 1 and the
//!    original acked. Once that count reaches `max_deliveries` it is dead-lettered instead
//!    (poison). Quorum queues count returns themselves (`x-delivery-count`, added to
//!    `x-cogman-deliveries` when decoding), so a redelivered message there goes on to step 3
//!    as it is: delivery `max_deliveries + 1` is dead-lettered by cogman with its reason,
//!    and the queue's `x-delivery-limit` (= `max_deliveries`) dead-letters it should that
//!    delivery be returned too.
//! 3. Due later (its `cogman-run-at` is in the future: a foreign client, clock skew, or a
//!    delay longer than one pass of the ladder) → sent through the delay ladder again.
//! 4. Otherwise handed to the worker with `delivery_count = x-cogman-deliveries + 1`.
//!
//! Moves run in background tasks (tracked by the broker), publishing the copy with confirms
//! and then acking the original. When moving a message fails (the publishing connection stayed down for
//! `connection_timeout`), it is requeued so that nothing is lost.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use cogman_core::Delivery;

use super::delivery::AmqpDeliveryHandle;
use crate::config::QueueType;
use crate::context::ConsumeContext;
use crate::courier::{Settlement, settle};
use crate::received::Received;
use crate::router;
use crate::wire;

/// What to do with a message that does not go to the worker.
enum Move {
    DeadLetter(String),
    Restamp(u32),
    Redelay(Duration),
}

/// The delivery to hand to the worker, or `None` when the message is being moved elsewhere.
/// Never awaits: moves run in tracked background tasks, so a caller that stops waiting on
/// `next()` cannot strand a message half-moved.
pub(super) fn screen(message: Received, context: &Arc<ConsumeContext>) -> Option<Delivery> {
    let now = Utc::now();
    let mut decoded = match wire::decode(&message.properties, &message.body, &context.limits, now) {
        Ok(decoded) => decoded,
        Err(reason) => {
            tracing::warn!(
                queue = %message.queue,
                message_id = ?message.properties.message_id().as_ref().map(|id| id.as_str()),
                %reason,
                "malformed message on a cogman queue; dead-lettering it"
            );
            spawn_move(
                context,
                message,
                Move::DeadLetter(format!("malformed: {reason}")),
            );
            return None;
        }
    };
    // A message taken from a named queue's set belongs to that queue.
    if *decoded.task.queue != *message.named {
        decoded.task.queue = message.named.to_string();
    }
    let task_id = decoded.task.id;
    if message.redelivered && context.queue_type == QueueType::Classic {
        let unsettled = decoded.prior_deliveries.saturating_add(1);
        let next = if unsettled >= context.max_deliveries {
            tracing::warn!(%task_id, queue = %message.queue, unsettled, "poison task; dead-lettering it");
            Move::DeadLetter(format!(
                "poison: delivered {unsettled} times without being settled (max_deliveries {})",
                context.max_deliveries
            ))
        } else {
            Move::Restamp(unsettled)
        };
        spawn_move(context, message, next);
        return None;
    }
    let delivery_count = decoded.prior_deliveries.saturating_add(1);
    if delivery_count > context.max_deliveries {
        tracing::warn!(%task_id, queue = %message.queue, delivery_count, "poison task; dead-lettering it");
        let reason = format!(
            "poison: delivery {delivery_count} is over max_deliveries {}",
            context.max_deliveries
        );
        spawn_move(context, message, Move::DeadLetter(reason));
        return None;
    }
    if let Some(wait) = router::remaining(decoded.task.run_at, now) {
        tracing::debug!(%task_id, ?wait, "task is not due yet; delaying it again");
        spawn_move(context, message, Move::Redelay(wait));
        return None;
    }
    let handle = AmqpDeliveryHandle::new(message, Arc::clone(context));
    Some(
        Delivery::new(decoded.task, delivery_count, Box::new(handle))
            .with_handler_wait(decoded.handler_wait),
    )
}

/// Moves `message` in a task tracked by the broker; after a failed move, puts the message
/// back so it is not lost.
fn spawn_move(context: &Arc<ConsumeContext>, message: Received, next: Move) {
    let courier = Arc::clone(&context.courier);
    context.tracker.spawn(async move {
        let moved = match &next {
            Move::DeadLetter(reason) => courier.dead_letter(&message, reason).await,
            Move::Restamp(deliveries) => courier.restamp(&message, *deliveries).await,
            Move::Redelay(wait) => courier.redelay(&message, *wait).await,
        };
        if let Err(e) = moved {
            tracing::warn!(queue = %message.queue, error = %crate::error::chain(&e), "could not move a message; requeueing it");
            if let Err(e) = settle(&message.acker, Settlement::Requeue).await {
                tracing::debug!(error = %crate::error::chain(&e), "requeue failed; the broker redelivers when the channel closes");
            }
        }
    });
}
