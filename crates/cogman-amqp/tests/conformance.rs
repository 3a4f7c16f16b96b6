//! The testkit's Broker conformance suite against RabbitMQ: every behaviour runs on a fresh
//! broker with its own queue prefix (its queues and exchanges are deleted afterwards).

#[path = "common/mod.rs"]
mod common;

cogman_testkit::broker_conformance!(async {
    common::Fixture::start(common::config("conformance")).await
});
