//! The [`Broker`](cogman_core::Broker) conformance suite: one public async function per
//! behaviour, each taking a [`BrokerFactory`](crate::BrokerFactory) that builds a fresh broker
//! isolated from every other test. Run them all with
//! [`broker_conformance!`](crate::broker_conformance).
//!
//! `extend_lease` and the optional queue stats are checked too: a broker without leases (its
//! unsettled deliveries stay with their consumer) and one without queue stats pass those as
//! they are.
//!
//! Leases are kept short (500 ms) so that "comes back" checks finish quickly; absence checks
//! use a window longer than the lease, so a broker that forgot to settle a delivery fails them.

mod fanout;
mod lease;
mod ordering;
mod queues;
mod settle;
mod stats;

pub use fanout::{consume_after_close_fails, two_consumers_get_each_task_exactly_once};
pub use lease::extended_lease_keeps_the_delivery_claimed;
pub use ordering::{
    delayed_task_waits_for_run_at, high_priority_is_delivered_first,
    short_delay_is_not_blocked_by_long_delay,
};
pub use queues::{
    a_consumer_gets_only_the_named_queues_it_serves, delayed_task_to_a_named_queue_arrives,
};
pub use settle::{
    ack_removes_the_task, dead_letter_removes_the_task_for_good, publish_then_consume_round_trips,
    requeue_delivers_again, unsettled_delivery_comes_back,
};
pub use stats::{
    queue_stats_count_ready_and_scheduled_tasks_per_priority,
    queue_stats_follow_deliveries_and_dead_letters,
};

use std::time::Duration;

use cogman_core::{Broker, ConsumeOptions, Consumer, Delivery, Task, TaskState};

use crate::delivery::next_within;
use crate::sample;

/// The lease used by the suite.
pub const LEASE: Duration = Duration::from_millis(500);
/// How long a delivery that must come may take.
pub const DELIVERY_DEADLINE: Duration = Duration::from_secs(10);
/// How long "nothing arrives" is watched (longer than [`LEASE`]).
pub const ABSENCE_WINDOW: Duration = Duration::from_millis(1500);

/// Consume options with the suite's lease and `prefetch`.
fn options(prefetch: u16) -> ConsumeOptions {
    ConsumeOptions {
        prefetch,
        consumer_tag: "conformance".to_owned(),
        lease: LEASE,
        ..ConsumeOptions::default()
    }
}

/// A task ready to publish (state `queued`).
fn queued_task(name: &str) -> Task {
    let mut task = sample::task(name);
    task.status = TaskState::Queued;
    task
}

async fn publish(broker: &dyn Broker, task: &Task) {
    broker
        .publish(task)
        .await
        .unwrap_or_else(|err| panic!("publish {}: {err}", task.id));
}

async fn consume(broker: &dyn Broker, prefetch: u16) -> Box<dyn Consumer> {
    broker
        .consume(options(prefetch))
        .await
        .unwrap_or_else(|err| panic!("consume: {err}"))
}

/// A consumer of the named `queues`.
async fn consume_queues(broker: &dyn Broker, prefetch: u16, queues: &[&str]) -> Box<dyn Consumer> {
    broker
        .consume(ConsumeOptions {
            queues: queues.iter().map(|q| (*q).to_owned()).collect(),
            ..options(prefetch)
        })
        .await
        .unwrap_or_else(|err| panic!("consume {queues:?}: {err}"))
}

/// The next delivery, which must arrive within [`DELIVERY_DEADLINE`].
async fn must_receive(consumer: &mut dyn Consumer, what: &str) -> Delivery {
    next_within(consumer, DELIVERY_DEADLINE)
        .await
        .unwrap_or_else(|err| panic!("{what}: {err}"))
}
