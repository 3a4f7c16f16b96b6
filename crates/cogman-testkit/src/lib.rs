//! Test helpers shared by every cogman crate: waits with deadlines ([`wait`]), delivery checks
//! ([`delivery`]), sample tasks ([`sample`]), and the conformance suites that every backend runs
//! ([`task_log_suite`], [`broker_suite`]), in the style of River's `riverdrivertest`.
//!
//! # Running the suites from a backend crate
//! Add `cogman-testkit` to `[dev-dependencies]` and write, in `tests/conformance.rs`:
//!
//! ```text
//! cogman_testkit::task_log_conformance!(async { std::sync::Arc::new(make_isolated_log().await) });
//! cogman_testkit::broker_conformance!(async { std::sync::Arc::new(make_isolated_broker().await) });
//! ```
//!
//! Each macro expands to a module (`task_log_conformance` / `broker_conformance`) with one
//! `#[tokio::test]` per behaviour, so a failure names the behaviour. The expression is evaluated
//! once per test and must produce a fresh instance isolated from every other test (its own file,
//! queue names, key prefix or schema). It may evaluate to an `Arc<T>` of the backend, an
//! `Arc<dyn TaskLog>` / `Arc<dyn Broker>`, or a [`Guarded`] value that also keeps a guard (a
//! temporary directory, say) alive for the length of the test.
//!
//! # Layout
//! - [`fixture`]: what a factory may return ([`LogFixture`], [`BrokerFixture`], [`Guarded`]).
//! - [`wait`]: [`wait_until`], [`wait_for_state`], [`wait_for_final`].
//! - [`delivery`]: [`next_within`] and [`expect_no_delivery`] for consumers.
//! - [`memory_log`]: [`MemoryLog`], the in-memory reference task log that passes the whole
//!   suite: the example to copy when writing a new backend.
//! - [`sample`]: tasks with every field set, timestamps truncated to milliseconds.
//! - [`servers`]: private RabbitMQ, Redis and PostgreSQL servers for fault tests, and cleanup
//!   of what tests leave on the shared ones.
//! - [`task_log_suite`], [`broker_suite`]: one public async function per behaviour.
//! - [`stress`]: checks that need several handles on one store, or a fault injected while
//!   writes run; backends call them from their own tests.
//! - [`read_back`]: a task's history states, and a written task read back, for assertions.
//! - the [`task_log_conformance!`] and [`broker_conformance!`] macros.

pub mod broker_suite;
pub mod delivery;
pub mod fixture;
pub mod http;
mod macros;
pub mod memory_log;
pub mod read_back;
pub mod sample;
pub mod servers;
pub mod stress;
pub mod task_log_suite;
pub mod wait;

pub use delivery::{NextError, NoDeliveryError, expect_no_delivery, next_within};
pub use fixture::{BrokerFactory, BrokerFixture, Guarded, LogFactory, LogFixture};
pub use memory_log::MemoryLog;
pub use read_back::{assert_reads_back, history_states};
pub use wait::{WaitTimeout, wait_for_final, wait_for_state, wait_until};

/// Re-exports used by the macros; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use tokio;
}
