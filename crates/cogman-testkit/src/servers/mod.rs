//! Private servers for fault tests, and cleanup of what tests leave on the shared ones.
//!
//! Fault tests must never stop or restart the RabbitMQ, Redis and PostgreSQL on the default
//! ports: other tests use them at the same time. Each guard here starts a server of its own on
//! free ports, in its own temporary directory, lets the test stop and start it, and kills it and
//! removes its directory when dropped.
//!
//! - [`PrivateRabbit`]: a RabbitMQ node (`rabbitmq-server`) with its own node name and ports;
//!   `stop_app`/`start_app`, `close_all_connections`, `kill -STOP`/`-CONT` (a hung node),
//!   `kill -9` and boot again.
//! - [`RabbitCluster`]: three such nodes joined into one RabbitMQ cluster.
//! - [`PrivateRedis`]: `redis-server` without persistence; `stop` kills it (its data is gone),
//!   `start` runs it again on the same port.
//! - [`PrivatePostgres`]: a fresh cluster (`initdb`, trust auth, database `test`) run by the
//!   `postgres` user; `stop` is `pg_ctl stop -m immediate` (a crash), `start` recovers it.
//! - [`SharedCleanup`]: deletes a test's queues and exchanges, PostgreSQL schema and Redis keys
//!   from the shared servers when dropped.
//!
//! Ports come from [`free_port`] (bind port 0, read it, close); a start that fails because
//! the port was taken in between is retried on new ports.

mod cleanup;
mod cluster;
mod command;
mod error;
mod ports;
mod postgres;
mod rabbit;
mod redis;
mod scratch;

pub use cleanup::SharedCleanup;
pub use cluster::RabbitCluster;
pub use error::ServerError;
pub use ports::free_port;
pub use postgres::PrivatePostgres;
pub use rabbit::{FrozenRabbit, PrivateRabbit};
pub use redis::PrivateRedis;

/// Attempts at starting a server on fresh ports before giving up.
const START_ATTEMPTS: u32 = 4;
