//! The Redis task log of cogman: the hot status store of the distributed mode. It keeps one
//! record per task with a TTL (default one week, reset on every write), applies state changes
//! atomically and monotonically in Lua scripts (a state never goes backwards, whatever order
//! writes arrive in), and keeps sorted-set indexes so listing and counting never scan the
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
//! - `scripts` and `lua/`: the create, record, page and purge scripts; the rank table.
//! - `conn`: the shared `ConnectionManager` and the retry of commands cut by a reconnect.
//! - `record`: how a task is stored in a hash and read back.
//! - `log`: [`RedisLog`] and its `TaskLog` implementation.
//! - `index`, `list`, `counts`, `purge`: reading indexes in list order, listing, counting and
//!   purging.
//! - `workers`: the `WorkerRegistry` implementation.
//!
//! # Guarantees
//! - Each write is one script: it checks the stored state's rank against the new one and
//!   only advances, moving the id between the per-state index sets in the same step.
//! - Commands cut by a dropped connection are retried (up to [`RedisConfig::retries`] times);
//!   every command is idempotent, so a retry cannot apply a change twice.
//! - Redis is a cache in the distributed mode: records expire and may be lost (flush, restart
//!   without persistence). Pair it with the durable PostgreSQL log (cogman's `TieredLog`).

pub mod config;
mod conn;
mod counts;
mod index;
mod keys;
mod list;
mod log;
mod purge;
mod record;
mod scripts;
mod workers;

pub use config::RedisConfig;
pub use log::RedisLog;
