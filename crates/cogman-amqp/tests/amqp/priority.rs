//! High priority first: with 1,000 low tasks and then 100 high tasks waiting, every high task
//! is handed out before the 200th low one.

use std::time::Duration;

use cogman_core::{Broker, ConsumeOptions, Priority};
use cogman_testkit::next_within;

use crate::common::{Fixture, config, task};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn high_tasks_overtake_a_thousand_waiting_low_tasks() {
    let mut cfg = config("priority");
    cfg.low_queue_count = 2;
    cfg.high_queue_count = 2;
    let fx = Fixture::start(cfg).await;
    let low: Vec<_> = (0..1000)
        .map(|_| task("priority.low", Priority::Low))
        .collect();
    let high: Vec<_> = (0..100)
        .map(|_| task("priority.high", Priority::High))
        .collect();
    for batch in low.chunks(100) {
        futures::future::try_join_all(batch.iter().map(|t| fx.broker.publish(t)))
            .await
            .expect("publish low");
    }
    futures::future::try_join_all(high.iter().map(|t| fx.broker.publish(t)))
        .await
        .expect("publish high");

    let mut consumer = fx
        .broker
        .consume(ConsumeOptions {
            prefetch: 10,
            ..ConsumeOptions::default()
        })
        .await
        .expect("consume");
    let mut lows_before_last_high = 0;
    let mut highs = 0;
    while highs < high.len() {
        let delivery = next_within(&mut *consumer, Duration::from_secs(20))
            .await
            .expect("a delivery");
        match delivery.task().priority {
            Priority::High => highs += 1,
            Priority::Low => lows_before_last_high += 1,
        }
        delivery.ack().await.expect("ack");
    }
    assert!(
        lows_before_last_high < 200,
        "{lows_before_last_high} low tasks were handed out before the last high one"
    );
    eprintln!("low tasks before the last high one: {lows_before_last_high}");
}
