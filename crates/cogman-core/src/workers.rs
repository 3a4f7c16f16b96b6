//! The [`WorkerRegistry`] ability: workers announce themselves with heartbeats so the API and
//! CLI can show which are alive, their concurrency and what they are running.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::task::default_queue;
use crate::task_log::TaskLogError;

fn default_queues() -> Vec<String> {
    vec![default_queue()]
}

/// A worker's heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// Unique per worker process (host, pid and a random suffix).
    pub id: String,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// Most tasks run at once.
    pub concurrency: u32,
    /// Tasks running now.
    pub in_flight: u32,
    /// Task names it has handlers for.
    pub handlers: Vec<String>,
    /// The named queues it consumes. Heartbeats written before queues existed read as
    /// `["default"]`.
    #[serde(default = "default_queues")]
    pub queues: Vec<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it last reported.
    pub last_heartbeat: DateTime<Utc>,
}

/// Stores and lists worker heartbeats (optional ability of a task log).
#[async_trait]
pub trait WorkerRegistry: Send + Sync {
    /// Stores the latest heartbeat of a worker.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn heartbeat(&self, info: &WorkerInfo) -> Result<(), TaskLogError>;

    /// Removes a worker that stopped cleanly.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn deregister(&self, worker_id: &str) -> Result<(), TaskLogError>;

    /// Workers whose last heartbeat is at or after `since`.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn workers(&self, since: DateTime<Utc>) -> Result<Vec<WorkerInfo>, TaskLogError>;
}
