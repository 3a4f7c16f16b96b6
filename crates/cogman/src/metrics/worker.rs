//! [`WorkerMetrics`]: one worker's Prometheus registry — attempts by task name and outcome,
//! handler run time and queue latency (enqueue to start) histograms by name, tasks in flight,
//! and the process basics. Fed by the worker as it starts and settles attempts (it is a
//! [`TaskObserver`]), the gauges read from its [`WorkerStats`] at each scrape.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cogman_core::{Task, TaskState};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use super::labels::{NameLabels, duration_histogram, latency_histogram};
use super::process::ProcessCollector;
use crate::worker::{TaskObserver, WorkerStats};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    name: String,
    outcome: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NameLabel {
    name: String,
}

type HistogramFamily = Family<NameLabel, Histogram, fn() -> Histogram>;

/// The metrics of one worker. Render them with [`WorkerMetrics::render`], or serve them with
/// [`MetricsServer`](super::MetricsServer). Task names past
/// [`MAX_TASK_NAMES`](super::MAX_TASK_NAMES) distinct ones are labelled
/// [`OTHER_NAMES`](super::OTHER_NAMES).
pub struct WorkerMetrics {
    registry: Registry,
    attempts: Family<AttemptLabels, Counter>,
    durations: HistogramFamily,
    latency: HistogramFamily,
    names: NameLabels,
}

impl std::fmt::Debug for WorkerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerMetrics").finish_non_exhaustive()
    }
}

impl WorkerMetrics {
    /// A registry for the worker whose counters are `stats`.
    pub(crate) fn new(stats: Arc<WorkerStats>) -> Self {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ProcessCollector::new()));
        let cogman = registry.sub_registry_with_prefix("cogman");
        let attempts = Family::<AttemptLabels, Counter>::default();
        cogman.register(
            "worker_attempts",
            "Attempts this worker settled, by task name and outcome (success, failed, retry, cancelled)",
            attempts.clone(),
        );
        let durations: HistogramFamily = Family::new_with_constructor(duration_histogram);
        cogman.register_with_unit(
            "worker_attempt_duration",
            "Handler run time of the attempts this worker settled, by task name",
            Unit::Seconds,
            durations.clone(),
        );
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        cogman.register_with_unit(
            "worker_queue_latency",
            "Time from when an attempt could run (enqueued, or its run_at if later) to when this worker started it, by task name",
            Unit::Seconds,
            latency.clone(),
        );
        cogman.register_collector(Box::new(StatsCollector(stats)));
        WorkerMetrics {
            registry,
            attempts,
            durations,
            latency,
            names: NameLabels::default(),
        }
    }

    /// Every metric in the OpenMetrics text format (what `GET /metrics` answers), ending
    /// with `# EOF`.
    pub fn render(&self) -> String {
        super::encode(&self.registry).unwrap_or_else(|error| {
            tracing::error!(%error, "could not encode the worker's metrics");
            String::new()
        })
    }

    /// The attempt of `task` starts now.
    pub(crate) fn started(&self, task: &Task) {
        self.started_at(task, Utc::now());
    }

    fn started_at(&self, task: &Task, now: DateTime<Utc>) {
        let ready = task
            .run_at
            .map_or(task.created_at, |at| at.max(task.created_at));
        let waited = (now - ready).to_std().unwrap_or(Duration::ZERO);
        self.latency
            .get_or_create(&NameLabel {
                name: self.names.label(&task.name),
            })
            .observe(waited.as_secs_f64());
    }
}

impl TaskObserver for WorkerMetrics {
    fn settled(&self, task: &Task, state: TaskState, ran_for: Duration) {
        let name = self.names.label(&task.name);
        self.attempts
            .get_or_create(&AttemptLabels {
                name: name.clone(),
                outcome: state.as_str().to_owned(),
            })
            .inc();
        self.durations
            .get_or_create(&NameLabel { name })
            .observe(ran_for.as_secs_f64());
    }
}

/// The worker's own counters ([`WorkerStats`]), read at each scrape.
#[derive(Debug)]
struct StatsCollector(Arc<WorkerStats>);

impl Collector for StatsCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let stats = self.0.snapshot();
        let in_flight = ConstGauge::new(i64::try_from(stats.in_flight).unwrap_or(i64::MAX));
        in_flight.encode(encoder.encode_descriptor(
            "worker_tasks_in_flight",
            "Attempts this worker is running now",
            None,
            in_flight.metric_type(),
        )?)?;
        let counters = [
            (
                "worker_duplicates",
                "Deliveries of a task that had already succeeded (run again, or skipped)",
                stats.duplicates,
            ),
            (
                "worker_record_errors",
                "Backend errors while recording or settling an attempt (the task was retried or delivered again)",
                stats.errors,
            ),
        ];
        for (name, help, value) in counters {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(name: &str) -> Task {
        Task::from_spec(cogman_core::TaskSpec::new(name, Vec::new()), Utc::now())
    }

    #[test]
    fn attempts_and_histograms_are_counted_by_name_with_escaped_labels() {
        let stats = Arc::new(WorkerStats::default());
        let metrics = WorkerMetrics::new(Arc::clone(&stats));
        let hostile = "say \"hi\"\\now";
        metrics.settled(&task("email"), TaskState::Success, Duration::from_millis(3));
        metrics.settled(&task("email"), TaskState::Retry, Duration::from_millis(3));
        metrics.settled(&task(hostile), TaskState::Failed, Duration::from_millis(1));
        let queued = task("email");
        metrics.started_at(&queued, queued.created_at + chrono::Duration::seconds(2));
        let out = metrics.render();
        for line in [
            "cogman_worker_attempts_total{name=\"email\",outcome=\"success\"} 1",
            "cogman_worker_attempts_total{name=\"email\",outcome=\"retry\"} 1",
            "cogman_worker_attempts_total{name=\"say \\\"hi\\\"\\\\now\",outcome=\"failed\"} 1",
            "cogman_worker_attempt_duration_seconds_count{name=\"email\"} 2",
            "cogman_worker_queue_latency_seconds_count{name=\"email\"} 1",
            "cogman_worker_queue_latency_seconds_sum{name=\"email\"} 2.0",
            "cogman_worker_tasks_in_flight 0",
            "cogman_worker_record_errors_total 0",
        ] {
            assert!(out.contains(line), "missing {line:?} in\n{out}");
        }
        assert!(out.trim_end().ends_with("# EOF"), "{out}");
    }

    #[test]
    fn latency_counts_from_run_at_when_it_is_later() {
        let metrics = WorkerMetrics::new(Arc::new(WorkerStats::default()));
        let mut scheduled = task("later");
        scheduled.run_at = Some(scheduled.created_at + chrono::Duration::seconds(60));
        metrics.started_at(
            &scheduled,
            scheduled.created_at + chrono::Duration::seconds(61),
        );
        let out = metrics.render();
        assert!(
            out.contains("cogman_worker_queue_latency_seconds_sum{name=\"later\"} 1.0"),
            "{out}"
        );
    }
}
