//! End-to-end and fault tests of the distributed mode through the library: clients and workers
//! over RabbitMQ, Redis and PostgreSQL. Tests that only need the shared servers (127.0.0.1
//! default ports) isolate themselves with a unique queue prefix, Redis namespace and
//! PostgreSQL schema; fault tests stop, cut or kill a private server of their own
//! (`cogman_testkit::servers`) and run one at a time (nextest group `private-servers`).
//! What each test proves is listed in `docs/reliability.md`.
//!
//! - `harness`: isolated configs and cleanup; `ledger`: which task ids handlers ran;
//!   `sender`: paced sending in phases; `check`: waiting for outcomes and counting loss and
//!   duplicates.
//! - `attempts`: a task and its attempts as one (the scenarios of `support/attempts.rs`).
//! - `delays`: scheduling through the worker; `duplicates`: a task delivered twice, and the
//!   outbox not publishing again a task Redis shows queued.
//! - `foreign`: a foreign producer's tasks get a record; an unknown name waits, then fails.
//! - `faults_broker`: RabbitMQ stopped, cut, hung (`kill -STOP`), or down at start; outbox and
//!   memory buffer.
//! - `promises`: concurrency bound, drain on graceful stop, lazy queues, scheduled counts
//!   after a cancel, `Client::close` of an owned broker (embedded and over RabbitMQ).
//! - `faults_logs`: Redis and PostgreSQL restarted mid-run or down at start; Redis stalled
//!   (`CLIENT PAUSE`) or out of memory.

mod support;

#[path = "distributed/attempts.rs"]
mod attempts;
#[path = "distributed/check.rs"]
mod check;
#[path = "distributed/dead_letters.rs"]
mod dead_letters;
#[path = "distributed/delays.rs"]
mod delays;
#[path = "distributed/duplicates.rs"]
mod duplicates;
#[path = "distributed/faults_broker.rs"]
mod faults_broker;
#[path = "distributed/faults_logs.rs"]
mod faults_logs;
#[path = "distributed/foreign.rs"]
mod foreign;
#[path = "distributed/harness.rs"]
mod harness;
#[path = "distributed/ledger.rs"]
mod ledger;
#[path = "distributed/promises.rs"]
mod promises;
#[path = "distributed/sender.rs"]
mod sender;
