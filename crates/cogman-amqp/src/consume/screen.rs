//! Screening of each received message before a worker sees it:
//!
//! 1. Malformed (see [`DecodeError`](crate::wire::DecodeError)) → dead-lettered with the
//!    reason, logged with `warn!`, never requeued.
//! 2. Redelivered by the broker (a worker crashed, a channel closed, or it was requeued) →
//!    classic queues do not count deliveries, so cogman records the lost delivery itself: the
//!    message is republished to the tail of its queue with `x-cogman-deliveries` + 1 and the
//!    original acked. Once that count reaches `max_deliveries` it is dead-lettered instead
//!    (poison).
//! 3. Due later (its `cogman-run-at` is in the future: a foreign client, clock skew, or a
//!    delay longer than one pass of the ladder) → sent through the delay ladder again.
//! 4. Otherwise handed to the worker with `delivery_count = x-cogman-deliveries + 1`.
//!
//! When moving a message fails (the publishing connection stayed down for
//! `connection_timeout`), it is requeued so that nothing is lost.

use std::sync::Arc;

use chrono::Utc;

use cogman_core::{BrokerError, Delivery};

use super::{ConsumeContext, Received};
use crate::courier::{Settlement, settle};
use crate::delivery::AmqpDeliveryHandle;
use crate::router;
use crate::wire;

/// The delivery to hand to the worker, or `None` when the message was dealt with here.
pub(super) async fn screen(message: Received, context: &Arc<ConsumeContext>) -> Option<Delivery> {
    let now = Utc::now();
    let courier = &context.courier;
    let decoded = match wire::decode(&message.properties, &message.body, &context.limits, now) {
        Ok(decoded) => decoded,
        Err(reason) => {
            tracing::warn!(
                queue = %message.queue,
                message_id = ?message.properties.message_id().as_ref().map(|id| id.as_str()),
                %reason,
                "malformed message on a cogman queue; dead-lettering it"
            );
            let reason = format!("malformed: {reason}");
            or_requeue(courier.dead_letter(&message, &reason).await, &message).await;
            return None;
        }
    };
    let task_id = decoded.task.id;
    if message.redelivered {
        let unsettled = decoded.prior_deliveries.saturating_add(1);
        let moved = if unsettled >= context.max_deliveries {
            tracing::warn!(%task_id, queue = %message.queue, unsettled, "poison task; dead-lettering it");
            let reason = format!(
                "poison: delivered {unsettled} times without being settled (max_deliveries {})",
                context.max_deliveries
            );
            courier.dead_letter(&message, &reason).await
        } else {
            courier.restamp(&message, unsettled).await
        };
        or_requeue(moved, &message).await;
        return None;
    }
    let delivery_count = decoded.prior_deliveries.saturating_add(1);
    if delivery_count > context.max_deliveries {
        let reason = format!(
            "poison: delivery {delivery_count} is over max_deliveries {}",
            context.max_deliveries
        );
        tracing::warn!(%task_id, queue = %message.queue, delivery_count, "poison task; dead-lettering it");
        or_requeue(courier.dead_letter(&message, &reason).await, &message).await;
        return None;
    }
    if let Some(wait) = router::remaining(decoded.task.run_at, now) {
        tracing::debug!(%task_id, ?wait, "task is not due yet; delaying it again");
        or_requeue(courier.redelay(&message, wait).await, &message).await;
        return None;
    }
    let handle = AmqpDeliveryHandle::new(message, Arc::clone(context));
    Some(Delivery::new(
        decoded.task,
        delivery_count,
        Box::new(handle),
    ))
}

/// After a failed move, puts the message back so it is not lost.
async fn or_requeue(moved: Result<(), BrokerError>, message: &Received) {
    if let Err(e) = moved {
        tracing::warn!(queue = %message.queue, error = %e, "could not move a message; requeueing it");
        if let Err(e) = settle(&message.acker, Settlement::Requeue).await {
            tracing::debug!(error = %e, "requeue failed; the broker redelivers when the channel closes");
        }
    }
}
