//! cogman's RabbitMQ (AMQP 0.9.1) broker, built on lapin: [`AmqpBroker`] implements
//! [`cogman_core::Broker`] and [`cogman_core::QueueStatsSource`].
//!
//! # What it does
//! - **Topology** (stable names, see [`Topology`] and `docs/wire-format.md`): high tasks go to
//!   `{prefix}high_priority_queue_{i}` (durable classic, `x-queue-mode: default`), low tasks to
//!   `{prefix}low_priority_queue_{i}` (durable classic, `x-queue-mode: lazy`), spread
//!   round-robin. Plus `{prefix}cogman_dead_letter` and a 23-level delay ladder.
//! - **Publish**: persistent, `mandatory`, publisher confirms; returns after the broker's ack.
//!   Payload = body, task fields = properties and `cogman-*` headers ([`wire`]).
//! - **Consume**: one consuming connection, one channel per priority set with a channel-wide
//!   prefetch; `next()` hands out high-priority messages first whenever both are buffered.
//! - **Bad messages**: malformed foreign messages are dead-lettered with the reason, never
//!   handed to a worker; a task delivered `max_deliveries` times without being settled is
//!   dead-lettered (poison). Classic queues do not count redeliveries, so cogman republishes a
//!   redelivered message with an `x-cogman-deliveries` header.
//! - **Delays** never sit unacked in a worker and never wait behind a longer delay: a TTL
//!   ladder of topic exchanges and queues (one per power of two seconds) takes the message
//!   to its work queue at its run time.
//! - **Reconnection**: a supervisor task per connection rebuilds connection, topology,
//!   channels, QoS and subscriptions after any failure, forever. Publishes wait (up to
//!   `connection_timeout`) and are retried until confirmed; consumers resume by themselves.
//!
//! # Layout
//! - [`config`]: [`AmqpConfig`] (redacts the password in `Debug`).
//! - [`topology`]: [`Topology`], names and idempotent declaration.
//! - `ladder`, `router`: delay arithmetic and where each message goes.
//! - [`wire`]: the wire format (encode, decode, header names).
//! - `link`: supervised connections; `channel`: opening channels; `publisher`: confirmed
//!   publishing with retry.
//! - `broker`: the handle, [`AmqpBroker`]; its trait impls in their own files: `queue`, the
//!   [`Broker`](cogman_core::Broker) (publish; the consumer with its feed task, priority
//!   buffers and screening; settling), and `stats`, the
//!   [`QueueStatsSource`](cogman_core::QueueStatsSource).
//! - helpers the handle and the impls share: `received` (a message as received), `context`
//!   (what consumers and delivery handles share), `courier` (moving a received message: dead
//!   letter, restamp, re-delay; checked ack/nack), `sets` (the named queues' sets declared so
//!   far).

mod broker;
mod channel;
pub mod config;
mod context;
mod courier;
mod error;
mod ladder;
mod link;
mod publisher;
mod queue;
mod received;
mod router;
mod sets;
mod stats;
pub mod topology;
pub mod wire;

pub use broker::AmqpBroker;
pub use config::{AmqpConfig, ConfigError, QueueType};
pub use ladder::{DELAY_LEVELS, MAX_LADDER_DELAY_SECS};
pub use topology::{QueueSet, Topology};
