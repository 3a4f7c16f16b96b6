//! Behaviours with several consumers, and after close: each task goes to exactly one consumer,
//! and a closed broker refuses to consume.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cogman_core::{Consumer, TaskId};
use tokio::time::Instant;

use super::{consume, options, queued_task};
use crate::delivery::{NextError, next_within};
use crate::{BrokerFactory, BrokerFixture as _};

const TASKS: usize = 200;
const RUN_DEADLINE: Duration = Duration::from_secs(60);

/// Two consumers share 200 tasks: when all are acked, each task was delivered exactly once.
pub async fn two_consumers_get_each_task_exactly_once(factory: impl BrokerFactory) {
    let fixture = factory.make().await;
    let broker = fixture.broker();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| queued_task("conformance.broker.fanout"))
        .collect();
    futures::future::try_join_all(tasks.iter().map(|t| broker.publish(t)))
        .await
        .unwrap_or_else(|err| panic!("publish: {err}"));

    let acked = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + RUN_DEADLINE;
    let mut consumers = tokio::task::JoinSet::new();
    for _ in 0..2 {
        let consumer = consume(&*broker, 10).await;
        consumers.spawn(drain(consumer, Arc::clone(&acked), deadline));
    }
    let mut seen = Vec::new();
    while let Some(joined) = consumers.join_next().await {
        seen.extend(joined.expect("a consumer panicked"));
    }
    let distinct: HashSet<_> = seen.iter().copied().collect();
    assert_eq!(distinct.len(), seen.len(), "a task was delivered twice");
    assert_eq!(
        distinct,
        tasks.iter().map(|t| t.id).collect::<HashSet<_>>(),
        "every task was delivered"
    );
}

/// Receives and acks until all tasks are acked (by anyone) or the deadline passes.
async fn drain(
    mut consumer: Box<dyn Consumer>,
    acked: Arc<AtomicUsize>,
    deadline: Instant,
) -> Vec<TaskId> {
    let mut mine = Vec::new();
    while acked.load(Ordering::SeqCst) < TASKS && Instant::now() < deadline {
        match next_within(&mut *consumer, Duration::from_millis(100)).await {
            Ok(delivery) => {
                mine.push(delivery.task().id);
                delivery
                    .ack()
                    .await
                    .unwrap_or_else(|err| panic!("ack: {err}"));
                acked.fetch_add(1, Ordering::SeqCst);
            }
            Err(NextError::Timeout(_)) => {}
            Err(NextError::Broker(err)) => panic!("next: {err}"),
        }
    }
    mine
}

/// After `close`, `consume` returns an error.
pub async fn consume_after_close_fails(factory: impl BrokerFactory) {
    let fixture = factory.make().await;
    let broker = fixture.broker();
    broker.close().await.expect("close");
    assert!(
        broker.consume(options(10)).await.is_err(),
        "consume on a closed broker must fail"
    );
}
