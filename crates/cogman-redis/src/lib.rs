//! The Redis task log of cogman: the hot status store of the distributed mode. It keeps one
//! record per task (a hash holding the task and its history) with a TTL (default one week,
//! reset on every write), applies state changes atomically and monotonically in a Lua script
//! (a state never goes backwards, whatever order writes arrive in), groups concurrent writes
//! into one script call, and keeps sorted-set indexes so listing and counting never scan the
//! keyspace.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cogman_core::TaskLogError> {
//! use cogman_redis::{RedisConfig, RedisLog};
//! let log = RedisLog::connect(RedisConfig::new("redis://127.0.0.1:6379/0").namespace("app1")).await?;
//! # let _ = log; Ok(()) }
//! ```
//!
//! # Layout
//! - [`config`]: [`RedisConfig`] (URI, TTL, namespace; `Debug` hides passwords).
//! - `keys`: the key names, all under the namespace (see the table there and in the README).
//! - `scripts` and `lua/`: the write (a batch of creates and changes), page and purge scripts;
//!   the rank table.
//! - `writer`: group commit, which queues `create` and `record` calls and applies whatever is
//!   waiting with one call of the write script ([`GroupCommit`]).
//! - `conn`: the shared `ConnectionManager` and the retry of commands cut by a reconnect.
//! - `record`: how a task and its history are stored in a hash and read back.
//! - `log`: the [`RedisLog`] handle; `namespace`: the connection, key names and scripts of
//!   one namespace, which the reading helpers take.
//! - `task_log`: the `TaskLog` implementation; `workers`: the `WorkerRegistry` implementation;
//!   `schedules`: the `ScheduleStore` implementation (schedules, the scheduler's lease, slot
//!   claims).
//! - `read`, `index`, `list`, `counts`, `purge`: reading one task and its history, reading
//!   indexes in list order, listing, counting and purging.
//!
//! # Guarantees
//! - Writes are applied by one script call per batch: for each write it checks the stored
//!   state's rank against the new one and only advances, moving the id between the per-state
//!   index sets in the same step. Writes of one task apply in the order they were made; each
//!   caller gets its own outcome, and only once Redis has applied the batch.
//! - Commands cut by a dropped connection are retried (up to [`RedisConfig::retries`] times);
//!   every command is idempotent, so a retry cannot apply a change twice.
//! - Not for Redis Cluster: the scripts touch index keys they build themselves (not passed as
//!   `KEYS`), and a batch spans many tasks' keys.
//! - Redis is a cache in the distributed mode: records expire and may be lost (flush, restart
//!   without persistence). Pair it with the durable PostgreSQL log (`cogman-tiered`'s
//!   `TieredLog`).

mod attempts;
pub mod config;
mod conn;
mod counts;
mod dead_letters;
mod index;
mod keys;
mod limits;
mod list;
mod log;
mod namespace;
mod note;
mod pauses;
mod purge;
mod read;
mod record;
mod schedules;
mod scripts;
mod task_log;
mod unique;
mod workers;
mod writer;

pub use cogman_core::GroupCommit;
pub use config::RedisConfig;
pub use log::RedisLog;
