//! Reads back what a run did from the task log, through the [`Inspector`] — counts per state
//! and latency percentiles — for `cogman demo` and `cogman bench`, so both report what the log
//! says, not what they believe they did.

use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use cogman::{Inspector, PageRequest, StatusCounts, TaskFilter, TaskState};
use serde::Serialize;

/// What the log says about the tasks created since a moment.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RunReport {
    /// Tasks per state.
    pub(crate) counts: StatusCounts,
    /// Send-to-finish time of successful tasks that were not delayed: 50th percentile.
    pub(crate) p50: Duration,
    /// 99th percentile.
    pub(crate) p99: Duration,
    /// Tasks read.
    pub(crate) tasks: usize,
}

/// The `q`-quantile of sorted `values` (nearest rank).
pub(crate) fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Reads every task created at or after `since` (paging through the log).
pub(crate) async fn read(inspector: &Inspector, since: DateTime<Utc>) -> Result<RunReport> {
    let filter = TaskFilter {
        created_from: Some(since),
        ..TaskFilter::default()
    };
    let mut counts = StatusCounts::default();
    let mut latencies = Vec::new();
    let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
    let mut tasks = 0;
    loop {
        let batch = inspector.list(&filter, page).await?;
        for task in &batch.items {
            tasks += 1;
            counts.add(task.status, 1);
            if task.status == TaskState::Success && task.attempt == 0 && task.run_at.is_none() {
                latencies.push(
                    (task.updated_at - task.created_at)
                        .to_std()
                        .unwrap_or_default(),
                );
            }
        }
        match batch.next {
            Some(cursor) => page.after = Some(cursor),
            None => break,
        }
    }
    latencies.sort();
    Ok(RunReport {
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        counts,
        tasks,
    })
}

/// Tasks not yet in a final state.
pub(crate) fn unfinished(counts: &StatusCounts) -> u64 {
    TaskState::ALL
        .iter()
        .filter(|s| !s.is_final())
        .map(|s| counts.get(*s))
        .sum()
}

/// Peak resident memory of this process, from /proc (Linux), in bytes.
pub(crate) fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 0.5), Duration::from_millis(50));
        assert_eq!(percentile(&values, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }
}
