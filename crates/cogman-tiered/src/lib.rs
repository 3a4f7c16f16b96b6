//! The tiered cogman task log: a fast, expiring "hot" log (Redis) in front of a durable one
//! (PostgreSQL), seen as one [`TaskLog`](cogman_core::TaskLog).
//!
//! ```no_run
//! use std::sync::Arc;
//! use cogman_tiered::TieredLog;
//! # fn demo(redis: Arc<dyn cogman_core::TaskLog>, postgres: Arc<dyn cogman_core::TaskLog>) {
//! let log = TieredLog::new(redis, postgres);
//! // `log` is a TaskLog, with the durable log's Outbox and WorkerRegistry.
//! # }
//! ```
//!
//! - Writes go to the durable log first; its answer (or error) is the call's answer. The same
//!   write then goes to the hot log. A hot failure never fails the call: it is logged and the
//!   task is queued for a background repair, which copies the durable record into the hot log
//!   (retrying with backoff until the hot log takes it), so a hot outage does not leave stale
//!   states behind. A write that finds the hot record gone (expired, flushed) queues the same
//!   repair, which seeds it again. Writes are monotonic, so late repairs are harmless.
//! - A hot log that fails or answers slowly is kept off the task path by a breaker (see
//!   `breaker`): its calls are skipped (writes queue a repair instead) until a probe succeeds,
//!   so a Redis outage never slows task execution down to Redis's retry timeouts.
//! - Changes that are not outcomes ([`TaskLog::record_transient`]: a task was queued, or
//!   starts) are answered by the hot log, which a read sees at once, and go to the durable log
//!   with [`TaskLog::record_behind`], so it can write them together with the task's next
//!   change (with PostgreSQL: one row write instead of three for queued, in progress and the
//!   outcome). This needs a hot log that is not behind the durable one: while the breaker keeps
//!   it off, a repair is waiting, or a repair was ever dropped, such changes are written
//!   durable-first like any other, and the hot record missing does the same.
//! - `get` reads the hot log and falls back to the durable one when the hot log misses (the
//!   record expired or was flushed), fails, or is skipped.
//! - `list`, `oldest`, `counts`, `history` and `purge_before` are answered by the durable log,
//!   as are the [`Outbox`](cogman_core::Outbox) (minus tasks the hot log shows published) and
//!   [`WorkerRegistry`](cogman_core::WorkerRegistry) abilities; `purge_before` also purges the
//!   hot log (best effort), so a purged task is gone from both.
//!
//! [`TaskLog::record_transient`]: cogman_core::TaskLog::record_transient
//! [`TaskLog::record_behind`]: cogman_core::TaskLog::record_behind
//!
//! # Layout
//! - [`tiered`](TieredLog): the handle, and the breaker-guarded call of the hot log.
//! - `log`: the [`TaskLog`](cogman_core::TaskLog) impl; `outbox`: the
//!   [`Outbox`](cogman_core::Outbox) impl.
//! - `repair`: the repair queue and the background loop that copies durable records into the
//!   hot log.
//! - `breaker`: keeps a failing or slow hot log off the task path.

mod breaker;
mod log;
mod outbox;
mod repair;
mod tiered;

#[cfg(test)]
mod tests;

pub use tiered::TieredLog;
