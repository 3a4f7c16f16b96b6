//! Integration tests of the RabbitMQ broker against the real server on 127.0.0.1:5672. Each
//! test has its own queue prefix and connection name, so they run in parallel with each other
//! and with other crates' tests.

#[path = "../common/mod.rs"]
mod common;

mod basics;
mod delay;
mod malformed;
mod named_queues;
mod pika;
mod poison;
mod priority;
mod reconnect;
