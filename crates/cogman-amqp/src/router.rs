//! [`Router`]: where a message goes. Tasks due now go to a work queue of their named queue's
//! priority set (round-robin over the set, through the default exchange); tasks due later
//! enter the delay ladder with a routing key that spells their delay and names that work queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use lapin::types::ShortString;

use cogman_core::Priority;

use crate::ladder::{self, EARLY_TOLERANCE};
use crate::topology::{QueueSet, Topology, short};

/// An exchange and routing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Route {
    pub(crate) exchange: ShortString,
    pub(crate) routing_key: ShortString,
}

/// Picks routes; shared by all clones of a broker.
#[derive(Debug)]
pub(crate) struct Router {
    topology: Arc<Topology>,
    next_high: AtomicUsize,
    next_low: AtomicUsize,
}

impl Router {
    pub(crate) fn new(topology: Arc<Topology>) -> Self {
        Router {
            topology,
            next_high: AtomicUsize::new(0),
            next_low: AtomicUsize::new(0),
        }
    }

    /// The route of a new task of `priority` on the named queue `set`, due at `run_at`.
    pub(crate) fn route(
        &self,
        set: &QueueSet,
        priority: Priority,
        run_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Route {
        let cursor = match priority {
            Priority::High => &self.next_high,
            Priority::Low => &self.next_low,
        };
        let queue = set.queue_at(priority, cursor.fetch_add(1, Ordering::Relaxed));
        match remaining(run_at, now) {
            Some(wait) => self.delayed(queue, wait),
            None => Route {
                exchange: ShortString::from(""),
                routing_key: queue.clone(),
            },
        }
    }

    /// The route through the delay ladder that lands in `queue` after `wait` (rounded up to
    /// whole seconds).
    pub(crate) fn delayed(&self, queue: &ShortString, wait: Duration) -> Route {
        Route {
            exchange: self.topology.delay_entry_exchange().clone(),
            routing_key: short(&ladder::routing_key(
                ladder::delay_secs(wait),
                queue.as_str(),
            )),
        }
    }
}

/// How long until `run_at`, when that is beyond the early-delivery tolerance.
pub(crate) fn remaining(run_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<Duration> {
    let wait = (run_at? - now).to_std().ok()?;
    (wait > EARLY_TOLERANCE).then_some(wait)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AmqpConfig;

    #[test]
    fn tasks_due_now_round_robin_and_later_ones_take_the_ladder() {
        let mut config = AmqpConfig::new("amqp://localhost");
        config.low_queue_count = 2;
        let topology = Arc::new(Topology::new(&config).expect("valid"));
        let default = topology.default_set().clone();
        let router = Router::new(topology);
        let now = Utc::now();
        let keys: Vec<String> = (0..3)
            .map(|_| {
                router
                    .route(&default, Priority::Low, None, now)
                    .routing_key
                    .to_string()
            })
            .collect();
        assert_eq!(
            keys,
            [
                "low_priority_queue_0",
                "low_priority_queue_1",
                "low_priority_queue_0"
            ]
        );
        let late = router.route(
            &default,
            Priority::High,
            Some(now + chrono::Duration::seconds(3)),
            now,
        );
        assert_eq!(late.exchange.as_str(), "cogman_delay_22");
        assert!(
            late.routing_key
                .as_str()
                .ends_with(".1.1.high_priority_queue_0")
        );
        let past = router.route(
            &default,
            Priority::High,
            Some(now - chrono::Duration::seconds(3)),
            now,
        );
        assert_eq!(past.exchange.as_str(), "");
    }
}
