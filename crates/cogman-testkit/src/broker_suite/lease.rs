//! Behaviour of `extend_lease`: a delivery whose lease is extended while it runs stays with
//! its consumer past the original lease, and can still be acked afterwards. (Brokers without
//! leases keep an unsettled delivery anyway, and pass.)

use super::{LEASE, consume, must_receive, publish, queued_task};
use crate::delivery::expect_no_delivery;
use crate::{BrokerFactory, BrokerFixture as _};

/// Times the lease is extended, each followed by a watch of one [`LEASE`]: together they
/// outlast the original lease three times over.
const RENEWALS: u32 = 3;

/// A delivery renewed every [`LEASE`] (by two leases each time) is not handed to another
/// consumer while it is renewed, and its ack then succeeds and removes it.
pub async fn extended_lease_keeps_the_delivery_claimed(factory: impl BrokerFactory) {
    let fixture = factory.make().await;
    let broker = fixture.broker();
    let task = queued_task("conformance.broker.extend_lease");
    publish(&*broker, &task).await;
    let mut holder = consume(&*broker, 1).await;
    let delivery = must_receive(&mut *holder, "the task").await;
    assert_eq!(delivery.task().id, task.id);

    let mut other = consume(&*broker, 1).await;
    for round in 1..=RENEWALS {
        delivery
            .extend_lease(LEASE * 2)
            .await
            .unwrap_or_else(|err| panic!("extend_lease, round {round}: {err}"));
        expect_no_delivery(&mut *other, LEASE)
            .await
            .unwrap_or_else(|err| panic!("while the lease is extended (round {round}): {err}"));
    }
    delivery
        .ack()
        .await
        .unwrap_or_else(|err| panic!("ack after extending the lease: {err}"));
    expect_no_delivery(&mut *other, LEASE * 3)
        .await
        .unwrap_or_else(|err| panic!("after the ack: {err}"));
}
