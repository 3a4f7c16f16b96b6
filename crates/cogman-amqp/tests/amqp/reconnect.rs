//! Connection cuts on the shared broker, touching only this test's connections (found by their
//! connection name with `rabbitmqctl list_connections` and closed with
//! `rabbitmqctl close_connection`): publishing and consuming carry on by themselves and no
//! confirmed task is lost (duplicates are allowed).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cogman_core::{Broker, ConsumeOptions, Priority, TaskId};
use cogman_testkit::{NextError, next_within, wait_until};

use crate::common::{Fixture, close_connections, config, task};

/// Pause between two publishes, to keep the volume moderate while connections are cut.
const PACE: Duration = Duration::from_millis(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_and_consuming_survive_closed_connections() {
    let cfg = config("reconnect");
    let name = cfg.connection_name.clone();
    let fx = Fixture::start(cfg).await;
    let broker = Arc::clone(&fx.broker);

    let published = Arc::new(Mutex::new(HashSet::<TaskId>::new()));
    let received = Arc::new(Mutex::new(HashSet::<TaskId>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let stop_publishing = Arc::new(AtomicBool::new(false));
    let stop_consuming = Arc::new(AtomicBool::new(false));

    let publisher = {
        let (broker, published, count, stop) = (
            Arc::clone(&broker),
            Arc::clone(&published),
            Arc::clone(&count),
            Arc::clone(&stop_publishing),
        );
        tokio::spawn(async move {
            let mut i = 0_usize;
            while !stop.load(Ordering::SeqCst) {
                let priority = if i.is_multiple_of(3) {
                    Priority::High
                } else {
                    Priority::Low
                };
                let t = task("reconnect.cut", priority);
                broker
                    .publish(&t)
                    .await
                    .unwrap_or_else(|e| panic!("publish {i}: {e}"));
                published.lock().expect("lock").insert(t.id);
                count.fetch_add(1, Ordering::SeqCst);
                i += 1;
                tokio::time::sleep(PACE).await;
            }
        })
    };

    let consumer = {
        let (broker, received, stop) = (
            Arc::clone(&broker),
            Arc::clone(&received),
            Arc::clone(&stop_consuming),
        );
        tokio::spawn(async move {
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
        })
    };

    for cut in 1..=2 {
        let before = count.load(Ordering::SeqCst);
        wait_until(
            &format!("50 more publishes before cut {cut}"),
            Duration::from_secs(60),
            || async { count.load(Ordering::SeqCst) >= before + 50 },
        )
        .await
        .expect("publishing progresses");
        let closed = close_connections(None, &name).await;
        assert_eq!(
            closed, 2,
            "cut {cut}: the publishing and the consuming connection"
        );
    }
    let before = count.load(Ordering::SeqCst);
    wait_until(
        "50 publishes after the last cut",
        Duration::from_secs(60),
        || async { count.load(Ordering::SeqCst) >= before + 50 },
    )
    .await
    .expect("publishing resumes");
    stop_publishing.store(true, Ordering::SeqCst);
    publisher.await.expect("every publish was confirmed");

    let published = published.lock().expect("lock").clone();
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
        panic!("{e}: {missing} of {} tasks missing", published.len())
    });
    stop_consuming.store(true, Ordering::SeqCst);
    consumer.await.expect("consumer task");
}
