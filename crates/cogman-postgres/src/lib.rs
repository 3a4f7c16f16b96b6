//! The PostgreSQL task log of cogman: the durable log of the distributed mode. It keeps every
//! task and every change of state (final tasks until `purge_before` deletes them), serves lists and
//! counts from indexes, offers the re-enqueue [`Outbox`](cogman_core::Outbox) and the
//! [`WorkerRegistry`](cogman_core::WorkerRegistry), and batches concurrent writes into shared
//! transactions (group commit) without answering anyone before their write is committed.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cogman_core::TaskLogError> {
//! use cogman_postgres::{PostgresConfig, PostgresLog};
//! let log = PostgresLog::connect(PostgresConfig::new("postgres://postgres@127.0.0.1/app")).await?;
//! # let _ = log; Ok(()) }
//! ```
//!
//! # Layout
//! - [`config`]: [`PostgresConfig`] and [`GroupCommit`] (`Debug` hides passwords).
//! - `migrate` and `migrations/`: numbered SQL migrations, applied under an advisory lock.
//! - `gate`: the schema gate every call passes first, and the background migrator used when
//!   the database was down at `connect`.
//! - `log`: the [`PostgresLog`] handle and `connect`; `db`: the schema gate and retry count,
//!   which the reading helpers take.
//! - `task_log`: the `TaskLog` implementation.
//! - `hold`: the holding stage, where changes recorded with `record_behind` wait (up to
//!   [`PostgresConfig::merge_window`]) for a later change of their task, to be written with it.
//! - `op`: one queued write and where its answer goes, which `hold` merges and `writer` applies.
//! - `writer`: group commit of `create` and `record` through the `create_tasks` and
//!   `record_changes` SQL functions.
//! - `read`, `list`, `counts`, `purge`: reading one task and its history, listing with cursor
//!   paging, counts per bucket and state, and the TTL purge (`purge_before`, one at a time
//!   across processes under an advisory lock; the `cogman` facade's `Retention` runs it).
//! - `note`: history notes, appended to `task_events` after the held changes are flushed.
//! - `outbox`, `workers`: the optional abilities.
//! - `row`, `bounds`, `error`: row decoding, timestamp bounds, error mapping and retries.
//!
//! # Guarantees
//! - A write is answered only after its transaction committed.
//! - `record` applies the rule in SQL (`UPDATE ... WHERE status_rank < rank of the new state`,
//!   `status_rank` being a generated column), so concurrent and out-of-order writes never move
//!   a task back, and each applied change is appended to `task_events` in the same
//!   transaction.
//! - `record_behind` holds a change up to `merge_window` (100 ms by default): the next write
//!   of the same task takes it along (one row write, every change in `task_events`, the same
//!   result as writing them one after the other); otherwise it is written when the window
//!   ends, or on `flush`. Such a change is lost only if the process dies first, or if its
//!   write fails (PostgreSQL down): it is then held once more with the write that failed, or
//!   given up with a warning. Nobody waits for it, so no acknowledgement depends on it.
//! - Calls cut by a lost connection, a deadlock or a serialization failure are retried; every
//!   call is idempotent.
//! - The log opens while PostgreSQL is down. `connect` still fails at once for a bad config
//!   (`InvalidQuery`) and for a server that refuses (authentication, missing database) or a
//!   migration that fails (`Other`); when the server cannot be reached it returns a log with a
//!   lazy pool and logs a warning. Until the migrations are applied every call (writes, reads,
//!   outbox, worker registry, purge) answers `Unavailable` after at most one connection
//!   attempt of its own (refused: at once; otherwise at most `acquire_timeout`), and a
//!   background task retries with backoff, so the log works as soon as the server is up,
//!   without being reopened. Migrations still run under the advisory lock, so processes that
//!   started together apply each once.
//! - Outbox claims use `FOR UPDATE SKIP LOCKED` plus a lease: concurrent claimers get disjoint
//!   sets, and a claim that is never published becomes claimable again when its lease ends.

mod bounds;
pub mod config;
mod counts;
mod db;
mod dead_letters;
mod error;
mod gate;
mod hold;
mod limits;
mod list;
mod log;
mod migrate;
mod note;
mod op;
mod outbox;
mod pauses;
mod purge;
mod read;
mod row;
mod schedules;
mod task_log;
mod unique;
mod workers;
mod writer;

pub use cogman_core::GroupCommit;
pub use config::PostgresConfig;
pub use log::PostgresLog;
