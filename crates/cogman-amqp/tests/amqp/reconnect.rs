//! Connection cuts on the shared broker, touching only this test's connections (found by their
//! connection name with `rabbitmqctl list_connections` and closed with
//! `rabbitmqctl close_connection`): publishing and consuming carry on by themselves and no
//! confirmed task is lost (duplicates are allowed). And a broker whose server cannot be
//! reached at start still starts, with publishes failing transiently until it connects.

use std::time::Duration;

use cogman_amqp::AmqpBroker;
use cogman_core::{Broker, ConsumeOptions, Priority};

use crate::common::traffic::Traffic;
use crate::common::{
    Fixture, Raw, URI, close_connections, config, config_on, connection_pids, task,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_and_consuming_survive_closed_connections() {
    let cfg = config("reconnect");
    let name = cfg.connection_name.clone();
    let fx = Fixture::start(cfg).await;
    let traffic = Traffic::start(std::sync::Arc::clone(&fx.broker));
    for cut in 1..=2 {
        traffic
            .progress(50, &format!("50 publishes before cut {cut}"))
            .await;
        let closed = close_connections(None, &name).await;
        assert_eq!(
            closed, 2,
            "cut {cut}: the publishing and the consuming connection"
        );
    }
    traffic
        .progress(50, "50 publishes after the last cut")
        .await;
    traffic.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_error_does_not_drop_the_connection() {
    let cfg = config("channel_error");
    let name = cfg.connection_name.clone();
    let fx = Fixture::start(cfg).await;
    let before = connection_pids(None, &name).await;
    assert_eq!(before.len(), 1, "the publishing connection");

    // Stats on a deleted queue: a 404 closes the stats channel, not the connection.
    let raw = Raw::open(URI).await;
    let dead_letter_queue = fx.topology().dead_letter_queue().to_string();
    let deleter = raw.connection.create_channel().await.expect("channel");
    deleter
        .queue_delete(dead_letter_queue.as_str().into(), Default::default())
        .await
        .expect("delete the dead-letter queue");
    let stats = fx
        .broker
        .queue_stats_source()
        .expect("stats")
        .queue_stats()
        .await;
    assert!(stats.is_err(), "stats of a missing queue fail: {stats:?}");

    fx.broker
        .publish(&task("reconnect.channel_error", Priority::Low))
        .await
        .expect("publishing still works");
    assert_eq!(
        connection_pids(None, &name).await,
        before,
        "same connection"
    );
    raw.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_started_while_rabbitmq_is_unreachable_starts_and_fails_transiently() {
    let port = cogman_testkit::servers::free_port().expect("a free port");
    let mut cfg = config_on(
        &format!("amqp://guest:guest@127.0.0.1:{port}/%2f"),
        "unreachable",
    );
    cfg.connection_timeout = Duration::from_millis(300);
    let broker = AmqpBroker::connect(cfg)
        .await
        .expect("starts while nothing listens: it connects in the background");
    let err = broker
        .publish(&task("reconnect.unreachable", Priority::Low))
        .await
        .expect_err("nothing to publish to");
    assert!(err.is_transient(), "{err:?}");
    broker
        .consume(ConsumeOptions::default())
        .await
        .expect("a consumer waits for the broker");
    broker.close().await.expect("close");
}
