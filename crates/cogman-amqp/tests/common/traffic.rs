//! Steady traffic through a broker for fault tests: one task publishes tasks one after another
//! and records each confirmed id; another consumes and acks, recording each acked id. After the
//! faults, [`Traffic::finish`] checks that every confirmed task was consumed (duplicates are
//! allowed, loss is not).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cogman_amqp::AmqpBroker;
use cogman_core::{Broker, ConsumeOptions, Priority, TaskId};
use cogman_testkit::{NextError, next_within, wait_until};
use tokio::task::JoinHandle;

use super::task;

/// Pause between two publishes, to keep the volume moderate while faults are injected.
const PACE: Duration = Duration::from_millis(1);

pub(crate) struct Traffic {
    published: Arc<Mutex<HashSet<TaskId>>>,
    received: Arc<Mutex<HashSet<TaskId>>>,
    count: Arc<AtomicUsize>,
    stop_publishing: Arc<AtomicBool>,
    stop_consuming: Arc<AtomicBool>,
    publisher: JoinHandle<()>,
    consumer: JoinHandle<()>,
}

impl Traffic {
    pub(crate) fn start(broker: Arc<AmqpBroker>) -> Traffic {
        let published = Arc::new(Mutex::new(HashSet::new()));
        let received = Arc::new(Mutex::new(HashSet::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let stop_publishing = Arc::new(AtomicBool::new(false));
        let stop_consuming = Arc::new(AtomicBool::new(false));
        let publisher = tokio::spawn(publish(
            Arc::clone(&broker),
            Arc::clone(&published),
            Arc::clone(&count),
            Arc::clone(&stop_publishing),
        ));
        let consumer = tokio::spawn(consume(
            broker,
            Arc::clone(&received),
            Arc::clone(&stop_consuming),
        ));
        Traffic {
            published,
            received,
            count,
            stop_publishing,
            stop_consuming,
            publisher,
            consumer,
        }
    }

    /// Waits until `n` more publishes were confirmed.
    pub(crate) async fn progress(&self, n: usize, what: &str) {
        let before = self.count.load(Ordering::SeqCst);
        wait_until(what, Duration::from_secs(60), || async {
            self.count.load(Ordering::SeqCst) >= before + n
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }

    /// Stops publishing and checks that every confirmed task is consumed.
    pub(crate) async fn finish(self) {
        self.stop_publishing.store(true, Ordering::SeqCst);
        self.publisher.await.expect("every publish was confirmed");
        let published = self.published.lock().expect("lock").clone();
        let received = Arc::clone(&self.received);
        wait_until(
            "every confirmed task consumed",
            Duration::from_secs(60),
            || async { received.lock().expect("lock").is_superset(&published) },
        )
        .await
        .unwrap_or_else(|e| {
            let missing = published
                .difference(&received.lock().expect("lock"))
                .count();
            panic!("{e}: {missing} of {} confirmed tasks lost", published.len())
        });
        self.stop_consuming.store(true, Ordering::SeqCst);
        self.consumer.await.expect("consumer task");
        eprintln!("{} tasks published and consumed", published.len());
    }
}

async fn publish(
    broker: Arc<AmqpBroker>,
    published: Arc<Mutex<HashSet<TaskId>>>,
    count: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) {
    let mut i = 0_usize;
    while !stop.load(Ordering::SeqCst) {
        let priority = if i.is_multiple_of(3) {
            Priority::High
        } else {
            Priority::Low
        };
        let t = task("fault.traffic", priority);
        broker
            .publish(&t)
            .await
            .unwrap_or_else(|e| panic!("publish {i}: {e}"));
        published.lock().expect("lock").insert(t.id);
        count.fetch_add(1, Ordering::SeqCst);
        i += 1;
        tokio::time::sleep(PACE).await;
    }
}

async fn consume(
    broker: Arc<AmqpBroker>,
    received: Arc<Mutex<HashSet<TaskId>>>,
    stop: Arc<AtomicBool>,
) {
    let mut consumer = broker
        .consume(ConsumeOptions::default())
        .await
        .expect("consume");
    while !stop.load(Ordering::SeqCst) {
        match next_within(&mut *consumer, Duration::from_millis(100)).await {
            Ok(delivery) => {
                let id = delivery.task().id;
                // An ack lost with its channel is fine: the task comes back.
                if delivery.ack().await.is_ok() {
                    received.lock().expect("lock").insert(id);
                }
            }
            Err(NextError::Timeout(_)) => {}
            Err(NextError::Broker(e)) => panic!("next: {e}"),
        }
    }
}
