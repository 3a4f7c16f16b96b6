//! The embedded cogman backend: the queue AND the task log in ONE SQLite file, shared by every
//! process on the machine that opens it (a client and several workers, say).
//!
//! ```no_run
//! use cogman_sqlite::{SqliteOptions, SqliteStore};
//! # fn main() -> Result<(), cogman_sqlite::SqliteError> {
//! let store = SqliteStore::open(SqliteOptions::new("cogman.db"))?;
//! // `store` is a Broker, a TaskLog (with Outbox and WorkerRegistry) and a QueueStatsSource.
//! # Ok(()) }
//! ```
//!
//! # Durability
//! The file is in WAL mode with `synchronous=FULL` by default: when `publish`, `create` or
//! `record` returns `Ok`, the change is committed and on disk, and survives a process crash or a
//! power loss. [`Synchronous::Normal`] is faster but may lose the last commits on power loss.
//!
//! # Writes: one thread, group commit
//! Every write goes to one writer thread, which takes all writes waiting, runs them in ONE
//! `BEGIN IMMEDIATE` transaction (each in its own savepoint) and commits once before replying,
//! so concurrent writers share one fsync. Reads use a separate read-only connection.
//!
//! # Sharing the file between processes
//! Any number of processes may open the same file (on a local disk: WAL needs shared memory, so
//! not over NFS). SQLite allows one writer at a time; others wait up to `busy_timeout` (then
//! the call fails with a transient error). Claims are leases, so two consumers never get the
//! same task while its lease holds, and a task whose worker died comes back when the lease
//! ends. Consumers in the process that published are woken at once; others notice within
//! `poll_interval`.
//!
//! # Schema (version [`SCHEMA_VERSION`], kept in `PRAGMA user_version`)
//! - `tasks`: one row per task, every [`Task`](cogman_core::Task) field; indexed by id,
//!   status, name, primary key, original task id and creation time; `(original_task_id,
//!   attempt)` is unique (a chain's attempt numbers never repeat, even for racing retries).
//! - `history`: every applied state change, and the notes (reruns, waits for a handler), in order.
//! - `queue`: task id, priority (0 High, 1 Low), run time, `visible_at` (run time, then lease
//!   end), enqueue order, lease owner and token, delivery counts, the task as JSON (payload in
//!   its own BLOB column).
//! - `dead_letters`: tasks that can never run, with the reason and time (moved by the queue),
//!   and entries collected from other brokers (whole, as JSON, with their idempotency key).
//! - `workers`: worker heartbeats.
//!
//! Times are nanoseconds since the Unix epoch. Migrations are numbered SQL files in
//! `migrations/`, applied at open.
//!
//! # Layout
//! - [`store`](SqliteStore): the handle; [`options`](SqliteOptions); [`error`](SqliteError).
//! - `writer` / `reader`: the two connection threads; `conn`: pragmas; `schema`: migrations.
//! - `log`: the [`TaskLog`](cogman_core::TaskLog), outbox, worker registry and dead-letter store.
//! - `queue`: the [`Broker`](cogman_core::Broker): claim, consumer, delivery, dead letters.

mod conn;
mod error;
mod log;
mod options;
mod queue;
mod reader;
mod schema;
mod store;
mod time;
mod writer;

pub use error::SqliteError;
pub use options::{SqliteOptions, Synchronous};
pub use queue::{DEAD_LETTER_QUEUE, HIGH_QUEUE, LOW_QUEUE};
pub use schema::SCHEMA_VERSION;
pub use store::SqliteStore;
