//! Prometheus metrics served at `/api/v1/metrics` (OpenMetrics text, prometheus-client).
//! Gauges are read through the [`cogman::Inspector`] at scrape time: tasks per state, queue
//! depth per queue, the age of the oldest pending task and live workers. The counter of purged
//! tasks is what this process's [`cogman::Retention`] deleted (sum it over processes). The task duration histogram per task name and outcome is fed by a
//! [`cogman::TaskObserver`] registered on an in-process worker. The text writer, the bound on
//! task-name labels and the buckets are [`cogman::metrics`]'s, shared with every worker's own
//! metrics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use cogman::metrics::{NameLabels, duration_histogram};
use cogman::{Inspector, Retention, Task, TaskObserver, TaskState};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::error::ApiError;

pub use cogman::metrics::{CONTENT_TYPE, MAX_TASK_NAMES};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabel {
    queue: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DurationLabel {
    name: String,
    state: String,
}

type HistogramFamily = Family<DurationLabel, Histogram, fn() -> Histogram>;

/// The metric registry of one API instance (no global state).
pub(crate) struct Metrics {
    registry: Registry,
    tasks: Family<StateLabel, Gauge>,
    durations: HistogramFamily,
    queue_depth: Family<QueueLabel, Gauge>,
    queue_scheduled: Family<QueueLabel, Gauge>,
    queue_in_flight: Family<QueueLabel, Gauge>,
    oldest_pending: Gauge<f64, AtomicU64>,
    workers: Gauge,
    purged: Counter,
    /// Task names seen by the histogram (bounded by [`MAX_TASK_NAMES`]).
    names: NameLabels,
    /// One scrape at a time: each refreshes the gauges, then encodes them.
    scrape: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("cogman");
        let tasks = Family::<StateLabel, Gauge>::default();
        registry.register(
            "tasks",
            "Tasks in the task log by current state",
            tasks.clone(),
        );
        let durations: HistogramFamily = Family::new_with_constructor(duration_histogram);
        registry.register_with_unit(
            "task_duration",
            "Handler run time per task name and outcome (in-process worker only)",
            Unit::Seconds,
            durations.clone(),
        );
        let queue_depth = Family::<QueueLabel, Gauge>::default();
        registry.register(
            "queue_depth",
            "Tasks ready to run per queue",
            queue_depth.clone(),
        );
        let queue_scheduled = Family::<QueueLabel, Gauge>::default();
        registry.register(
            "queue_scheduled",
            "Tasks waiting for their run time per queue",
            queue_scheduled.clone(),
        );
        let queue_in_flight = Family::<QueueLabel, Gauge>::default();
        registry.register(
            "queue_in_flight",
            "Tasks delivered and not yet settled per queue",
            queue_in_flight.clone(),
        );
        let oldest_pending = Gauge::<f64, AtomicU64>::default();
        registry.register_with_unit(
            "oldest_pending_task_age",
            "How long the oldest queued (or due scheduled) task has been waiting; 0 when none",
            Unit::Seconds,
            oldest_pending.clone(),
        );
        let workers = Gauge::default();
        registry.register(
            "workers_alive",
            "Workers that reported in the last 30 seconds",
            workers.clone(),
        );
        let purged = Counter::default();
        registry.register(
            "tasks_purged",
            "Finished tasks older than the TTL this process deleted from the task log",
            purged.clone(),
        );
        Metrics {
            registry,
            tasks,
            durations,
            queue_depth,
            queue_scheduled,
            queue_in_flight,
            oldest_pending,
            workers,
            purged,
            names: NameLabels::default(),
            scrape: tokio::sync::Mutex::new(()),
        }
    }

    /// Records one settled attempt.
    fn observe(&self, name: &str, state: TaskState, ran_for: Duration) {
        let label = DurationLabel {
            name: self.names.label(name),
            state: state.as_str().to_owned(),
        };
        self.durations
            .get_or_create(&label)
            .observe(ran_for.as_secs_f64());
    }

    /// Refreshes the gauges from the backends and the purge counter from `retention`, and
    /// encodes every metric.
    pub(crate) async fn render(
        &self,
        inspector: &Inspector,
        retention: Option<&Retention>,
    ) -> Result<String, ApiError> {
        let _one_at_a_time = self.scrape.lock().await;
        if let Some(retention) = retention {
            self.purged
                .inner()
                .store(retention.purged(), Ordering::Relaxed);
        }
        let now = Utc::now();
        let totals = inspector.totals().await?;
        for state in TaskState::ALL {
            self.tasks
                .get_or_create(&StateLabel {
                    state: state.as_str().to_owned(),
                })
                .set(gauge(totals.get(state)));
        }
        self.refresh_queues(inspector).await?;
        let waiting_since = inspector.oldest_pending(now).await?;
        self.oldest_pending.set(waiting_since.map_or(0.0, |since| {
            (now - since).num_milliseconds().max(0) as f64 / 1000.0
        }));
        if let Some(alive) = inspector.workers().await? {
            self.workers
                .set(i64::try_from(alive.len()).unwrap_or(i64::MAX));
        }
        cogman::metrics::encode(&self.registry).map_err(|e| ApiError::internal(&e))
    }

    async fn refresh_queues(&self, inspector: &Inspector) -> Result<(), ApiError> {
        let Some(stats) = inspector.queues().await? else {
            return Ok(());
        };
        self.queue_depth.clear();
        self.queue_scheduled.clear();
        self.queue_in_flight.clear();
        for queue in stats {
            let label = QueueLabel {
                queue: queue.name.clone(),
            };
            self.queue_depth
                .get_or_create(&label)
                .set(gauge(queue.ready));
            self.queue_scheduled
                .get_or_create(&label)
                .set(gauge(queue.scheduled));
            self.queue_in_flight
                .get_or_create(&label)
                .set(gauge(queue.in_flight));
        }
        Ok(())
    }
}

/// A count as a gauge value (saturating).
fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Feeds the duration histogram from a worker.
pub(crate) struct DurationObserver(pub(crate) Arc<Metrics>);

impl TaskObserver for DurationObserver {
    fn settled(&self, task: &Task, state: TaskState, ran_for: Duration) {
        self.0.observe(&task.name, state, ran_for);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_bucketed_per_name_with_a_bounded_label_set() {
        let metrics = Metrics::new();
        metrics.observe("email", TaskState::Success, Duration::from_millis(3));
        for i in 0..=MAX_TASK_NAMES {
            metrics.observe(
                &format!("n{i}"),
                TaskState::Failed,
                Duration::from_millis(1),
            );
        }
        let out = cogman::metrics::encode(&metrics.registry).expect("encodes");
        assert!(
            out.contains("cogman_task_duration_seconds_count{name=\"email\",state=\"success\"} 1"),
            "{out}"
        );
        assert!(
            out.contains("name=\"_other\""),
            "names past the limit share one label"
        );
        assert!(out.trim_end().ends_with("# EOF"));
    }
}
