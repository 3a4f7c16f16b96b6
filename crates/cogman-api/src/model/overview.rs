//! How the system overview looks on the wire: queues ([`QueueList`]), live workers
//! ([`WorkerList`]), counts per state per time bucket ([`CountsResponse`], the seed's
//! `/daterangecount`), the health answer ([`Health`]) and what a token may do ([`Whoami`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cogman::{BucketCount, QueueStats, TaskState, WorkerInfo};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::names::PriorityName;

/// One queue's numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Queue)]
pub struct QueueView {
    /// Queue name.
    pub name: String,
    /// The priority set it belongs to; null for auxiliary queues (delay, dead letter).
    pub priority: Option<PriorityName>,
    /// Tasks ready to run.
    pub ready: u64,
    /// Tasks waiting for their run time.
    pub scheduled: u64,
    /// Tasks delivered and not yet settled.
    pub in_flight: u64,
    /// Consumers attached, when known.
    pub consumers: Option<u32>,
}

impl From<&QueueStats> for QueueView {
    fn from(stats: &QueueStats) -> Self {
        QueueView {
            name: stats.name.clone(),
            priority: stats.priority.map(PriorityName),
            ready: stats.ready,
            scheduled: stats.scheduled,
            in_flight: stats.in_flight,
            consumers: stats.consumers,
        }
    }
}

/// The answer of `GET /queues`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QueueList {
    /// False when the broker cannot report queue numbers (the list is then empty).
    pub supported: bool,
    /// Every queue cogman uses.
    pub queues: Vec<QueueView>,
}

/// A live worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Worker)]
pub struct WorkerView {
    /// Unique per worker process.
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
    /// The named queues it consumes.
    #[serde(default = "default_queues")]
    pub queues: Vec<String>,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it last reported.
    pub last_heartbeat: DateTime<Utc>,
}

fn default_queues() -> Vec<String> {
    vec![cogman::default_queue()]
}

impl From<&WorkerInfo> for WorkerView {
    fn from(info: &WorkerInfo) -> Self {
        WorkerView {
            id: info.id.clone(),
            host: info.host.clone(),
            pid: info.pid,
            concurrency: info.concurrency,
            in_flight: info.in_flight,
            handlers: info.handlers.clone(),
            queues: info.queues.clone(),
            started_at: info.started_at,
            last_heartbeat: info.last_heartbeat,
        }
    }
}

/// The answer of `GET /workers`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WorkerList {
    /// False when the task log keeps no worker heartbeats (the list is then empty).
    pub supported: bool,
    /// Workers that reported in the last 30 seconds.
    pub workers: Vec<WorkerView>,
}

/// The query of `GET /counts`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CountsParams {
    /// Start of the range (RFC 3339); default 30 days before `to`.
    pub from: Option<DateTime<Utc>>,
    /// End of the range, exclusive (RFC 3339); default now.
    pub to: Option<DateTime<Utc>>,
    /// Bucket width, e.g. `15m`, `1h`, `1d`; default `1d`.
    #[param(example = "1h")]
    pub interval: Option<String>,
}

/// Tasks created in one bucket, by current state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Bucket)]
pub struct BucketView {
    /// Start of the bucket.
    pub start: DateTime<Utc>,
    /// Tasks in it.
    pub total: u64,
    /// Tasks per state; every state is present.
    pub counts: BTreeMap<String, u64>,
}

impl From<&BucketCount> for BucketView {
    fn from(bucket: &BucketCount) -> Self {
        BucketView {
            start: bucket.start,
            total: bucket.counts.total(),
            counts: TaskState::ALL
                .iter()
                .map(|s| (s.as_str().to_owned(), bucket.counts.get(*s)))
                .collect(),
        }
    }
}

/// The answer of `GET /counts`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CountsResponse {
    /// Start of the range.
    pub from: DateTime<Utc>,
    /// End of the range (exclusive).
    pub to: DateTime<Utc>,
    /// Bucket width in seconds.
    pub interval_secs: u64,
    /// Buckets holding at least one task, oldest first.
    pub buckets: Vec<BucketView>,
}

/// The answer of `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    pub status: String,
}

/// What the caller may do: the role of its token, or `none` when the server has no tokens
/// (then every request may do everything).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccessRole {
    /// Everything: send, retry, cancel and every read.
    Admin,
    /// Reads only (GET).
    Read,
    /// The server has no tokens.
    None,
}

/// The answer of `GET /whoami`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Whoami {
    /// The caller's role.
    pub role: AccessRole,
}

/// A named queue and whether it is paused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = NamedQueue)]
pub struct NamedQueueView {
    /// The named queue.
    pub name: String,
    /// True while no worker takes its tasks (sends are still accepted).
    pub paused: bool,
    /// When it was paused; null while it delivers.
    pub paused_since: Option<DateTime<Utc>>,
}

impl From<&cogman::NamedQueue> for NamedQueueView {
    fn from(queue: &cogman::NamedQueue) -> Self {
        NamedQueueView {
            name: queue.name.clone(),
            paused: queue.paused_since.is_some(),
            paused_since: queue.paused_since,
        }
    }
}

/// The answer of `GET /named-queues`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NamedQueueList {
    /// `default`, the queues live workers consume, and the paused ones, by name.
    pub queues: Vec<NamedQueueView>,
}
