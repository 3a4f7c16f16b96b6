//! Runs the testkit's TaskLog and Broker conformance suites against the SQLite store, each
//! test on its own temporary file.

mod common;

use common::fresh_store;

cogman_testkit::task_log_conformance!(async { fresh_store() });
cogman_testkit::broker_conformance!(async { fresh_store() });

/// The named-queue behaviours of the broker suite.
mod named_queues {
    use super::common::fresh_store;
    use cogman_testkit::broker_suite;

    #[tokio::test]
    async fn a_consumer_gets_only_the_named_queues_it_serves() {
        broker_suite::a_consumer_gets_only_the_named_queues_it_serves(|| async { fresh_store() })
            .await;
    }

    #[tokio::test]
    async fn delayed_task_to_a_named_queue_arrives() {
        broker_suite::delayed_task_to_a_named_queue_arrives(|| async { fresh_store() }).await;
    }
}
