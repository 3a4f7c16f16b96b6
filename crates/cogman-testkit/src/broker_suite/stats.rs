//! Behaviours of the optional [`QueueStatsSource`] ability: ready tasks per priority,
//! scheduled tasks, tasks handed out, and dead letters are counted where the broker says.
//! A broker without the ability has nothing to check (printed).
//!
//! Queues are told apart by their numbers, not their names: work queues carry a priority;
//! delay and dead-letter queues carry none. A broker may be unable to see deliveries in a
//! consumer's hands (RabbitMQ read without its management plugin reports 0 in flight), so
//! `in_flight` is only checked never to count more than was handed out.

use std::sync::Mutex;
use std::time::Duration;

use cogman_core::{Broker, Priority, QueueStats, QueueStatsSource};

use super::{consume, must_receive, publish, queued_task};
use crate::fixture::offered;
use crate::sample;
use crate::wait::wait_until;
use crate::{BrokerFactory, BrokerFixture as _};

/// How long the numbers may take to show a change.
const STATS_DEADLINE: Duration = Duration::from_secs(10);

/// The ability, or `None` (printed) when the broker has none.
fn stats_of<'a>(broker: &'a dyn Broker, behaviour: &str) -> Option<&'a dyn QueueStatsSource> {
    offered(broker.queue_stats_source(), behaviour, "queue stats")
}

/// The numbers summed over queues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Totals {
    ready_high: u64,
    ready_low: u64,
    scheduled: u64,
    in_flight: u64,
    /// Ready messages of queues without a priority: dead letters.
    aside: u64,
}

fn totals(stats: &[QueueStats]) -> Totals {
    let mut totals = Totals::default();
    for queue in stats {
        match queue.priority {
            Some(Priority::High) => totals.ready_high += queue.ready,
            Some(Priority::Low) => totals.ready_low += queue.ready,
            None => totals.aside += queue.ready,
        }
        totals.scheduled += queue.scheduled;
        totals.in_flight += queue.in_flight;
    }
    totals
}

/// Waits until the totals satisfy `wanted`, failing with the last ones seen.
async fn wait_for_totals(
    source: &dyn QueueStatsSource,
    what: &str,
    wanted: impl Fn(&Totals) -> bool,
) -> Totals {
    let last = Mutex::new(Totals::default());
    let seen = wait_until(what, STATS_DEADLINE, || {
        let stats = source.queue_stats();
        let (last, wanted) = (&last, &wanted);
        async move {
            let now = totals(
                &stats
                    .await
                    .unwrap_or_else(|err| panic!("queue_stats: {err}")),
            );
            *last.lock().expect("invariant: not poisoned") = now;
            wanted(&now)
        }
    })
    .await;
    let last = last.into_inner().expect("invariant: not poisoned");
    seen.unwrap_or_else(|err| panic!("{err}; last seen: {last:?}"));
    last
}

/// Ready tasks are counted in their priority's queue, and a task whose run time is an hour
/// away as scheduled, not ready.
pub async fn queue_stats_count_ready_and_scheduled_tasks_per_priority(factory: impl BrokerFactory) {
    let fixture = factory.make().await;
    let broker = fixture.broker();
    let Some(source) = stats_of(
        &*broker,
        "queue_stats_count_ready_and_scheduled_tasks_per_priority",
    ) else {
        return;
    };
    let empty = totals(&source.queue_stats().await.expect("queue_stats"));
    assert_eq!(empty, Totals::default(), "a fresh broker holds nothing");

    for priority in [Priority::High, Priority::High, Priority::Low] {
        let mut task = queued_task("conformance.broker.stats");
        task.priority = priority;
        publish(&*broker, &task).await;
    }
    let mut later = queued_task("conformance.broker.stats.later");
    later.priority = Priority::High;
    later.run_at = Some(sample::plus_ms(sample::now_ms(), 3_600_000));
    publish(&*broker, &later).await;

    let wanted = Totals {
        ready_high: 2,
        ready_low: 1,
        scheduled: 1,
        in_flight: 0,
        aside: 0,
    };
    wait_for_totals(source, "2 high and 1 low ready, 1 scheduled", |t| {
        *t == wanted
    })
    .await;
}

/// A task handed to a consumer is no longer ready (and counted in flight at most once); once
/// dead-lettered it is counted in a queue without a priority, and in flight no more.
pub async fn queue_stats_follow_deliveries_and_dead_letters(factory: impl BrokerFactory) {
    let fixture = factory.make().await;
    let broker = fixture.broker();
    let Some(source) = stats_of(&*broker, "queue_stats_follow_deliveries_and_dead_letters") else {
        return;
    };
    let mut task = queued_task("conformance.broker.stats.delivery");
    task.priority = Priority::High;
    publish(&*broker, &task).await;
    wait_for_totals(source, "1 high ready", |t| t.ready_high == 1).await;

    let mut consumer = consume(&*broker, 1).await;
    let delivery = must_receive(&mut *consumer, "the task").await;
    let handed_out =
        wait_for_totals(source, "the task no longer ready", |t| t.ready_high == 0).await;
    assert!(
        handed_out.in_flight <= 1,
        "one delivery in hand: {handed_out:?}"
    );

    delivery
        .dead_letter("conformance: stats")
        .await
        .expect("dead letter");
    let settled =
        wait_for_totals(source, "the task among the dead letters", |t| t.aside == 1).await;
    assert_eq!(
        (settled.ready_high, settled.ready_low, settled.in_flight),
        (0, 0, 0),
        "a dead letter is neither ready nor in flight: {settled:?}"
    );
}
