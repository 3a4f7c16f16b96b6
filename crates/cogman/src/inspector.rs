//! [`Inspector`]: the read side of cogman in one place. The REST API, its metrics, the CLI and
//! the HTTP client all read through it — a task with its attempts and history
//! ([`TaskDetails`]), filtered and paged lists, counts, queues, live workers, the oldest
//! pending task — so a composite read is written once, with one set of limits, and a new
//! read endpoint is one method here.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use cogman_core::{
    Broker, BucketCount, CountQuery, NoteKind, Page, PageRequest, QueueStats, StateChange,
    StatusCounts, Task, TaskFilter, TaskId, TaskLog, TaskState, WorkerInfo,
};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Most attempts [`Inspector::task`] lists for one task (the newest ones).
pub const MAX_ATTEMPTS: u32 = PageRequest::MAX_LIMIT;

/// How recently a worker must have reported to count as alive ([`Inspector::workers`]).
pub const WORKER_ALIVE_WINDOW: TimeDelta = TimeDelta::seconds(30);

/// Scheduled tasks looked at by [`Inspector::oldest_pending`] (the oldest by creation).
const SCHEDULED_SAMPLE: u32 = 100;

/// A task with every attempt of it and its history: what `cogman status` and
/// `GET /api/v1/tasks/{id}` show. Whichever attempt's id is asked for, `chain_status` and
/// `latest_attempt` say where the whole chain of attempts stands, while `task` keeps the
/// asked record's own state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskDetails {
    /// The task.
    pub task: Task,
    /// The state of the chain's newest attempt: the outcome of the task as a whole once it is
    /// `success`, `failed` or `cancelled`; `retry` only while the next attempt is being sent.
    pub chain_status: TaskState,
    /// The id of the chain's newest attempt (the highest attempt number).
    pub latest_attempt: TaskId,
    /// Every attempt sharing its `original_task_id` (itself included), newest first, at most
    /// [`MAX_ATTEMPTS`].
    pub attempts: Vec<Task>,
    /// Its recorded state changes, oldest first, with its history notes (reruns, waits for
    /// a handler) in between.
    pub history: Vec<StateChange>,
}

/// Reads tasks, counts, queues and workers from a task log and a broker. Cheap to clone;
/// get one from [`crate::Client::inspector`].
#[derive(Debug, Clone)]
pub struct Inspector {
    log: Arc<dyn TaskLog>,
    broker: Arc<dyn Broker>,
}

impl Inspector {
    /// The task log it reads.
    pub(crate) fn log(&self) -> &Arc<dyn TaskLog> {
        &self.log
    }

    /// An inspector over these backends.
    pub fn new(log: Arc<dyn TaskLog>, broker: Arc<dyn Broker>) -> Self {
        Inspector { log, broker }
    }

    /// The task with this id, its attempts (newest first, at most [`MAX_ATTEMPTS`]) and its
    /// history.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::TaskLog`] when the log cannot be read.
    pub async fn task(&self, id: TaskId) -> Result<TaskDetails, Error> {
        let task = self.log.get(id).await?.ok_or(Error::NotFound(id))?;
        let attempts = TaskFilter {
            original_task_id: Some(task.original_task_id),
            ..TaskFilter::default()
        };
        let attempts = self
            .log
            .list(&attempts, PageRequest::first(MAX_ATTEMPTS))
            .await?
            .items;
        let history = self.log.history(id).await?;
        let latest = newest_attempt(&attempts).unwrap_or(&task);
        Ok(TaskDetails {
            chain_status: latest.status,
            latest_attempt: latest.id,
            task,
            attempts,
            history,
        })
    }

    /// One page of the tasks `filter` selects, newest first.
    ///
    /// # Errors
    /// [`Error::TaskLog`]: an invalid filter or cursor, or a log that cannot be read.
    pub async fn list(&self, filter: &TaskFilter, page: PageRequest) -> Result<Page, Error> {
        Ok(self.log.list(filter, page).await?)
    }

    /// Tasks created in `query`'s range, per current state, per bucket (oldest first; buckets
    /// with no task are left out).
    ///
    /// # Errors
    /// [`Error::TaskLog`]: an invalid range or bucket, or a log that cannot be read.
    pub async fn counts(&self, query: &CountQuery) -> Result<Vec<BucketCount>, Error> {
        query.validate()?;
        Ok(self.log.counts(query).await?)
    }

    /// Every task in the log, per current state.
    ///
    /// # Errors
    /// [`Error::TaskLog`] when the log cannot be read.
    pub async fn totals(&self) -> Result<StatusCounts, Error> {
        let mut totals = StatusCounts::default();
        for bucket in self.log.counts(&CountQuery::all()).await? {
            for (state, n) in bucket.counts.0 {
                totals.add(state, n);
            }
        }
        Ok(totals)
    }

    /// The numbers of every queue cogman uses; `None` when the broker cannot report them.
    ///
    /// A task cancelled while it waits for its run time stays in the broker (RabbitMQ's delay
    /// ladder) until its time comes and a worker drops it; the log says `cancelled`. So the
    /// broker's `scheduled` figures are capped by the tasks the log has `scheduled`: the
    /// queues never count as scheduled a task the log does not.
    ///
    /// # Errors
    /// [`Error::Broker`] when the broker cannot be asked; [`Error::TaskLog`] when the log
    /// cannot be counted.
    pub async fn queues(&self) -> Result<Option<Vec<QueueStats>>, Error> {
        let Some(source) = self.broker.queue_stats_source() else {
            return Ok(None);
        };
        let mut stats = source.queue_stats().await?;
        if stats.iter().any(|q| q.scheduled > 0) {
            let scheduled = self.totals().await?.get(TaskState::Scheduled);
            cap_scheduled(&mut stats, scheduled);
        }
        Ok(Some(stats))
    }

    /// Workers that reported within [`WORKER_ALIVE_WINDOW`]; `None` when the log keeps no
    /// worker registry.
    ///
    /// # Errors
    /// [`Error::TaskLog`] when the registry cannot be read.
    pub async fn workers(&self) -> Result<Option<Vec<WorkerInfo>>, Error> {
        match self.log.worker_registry() {
            Some(registry) => Ok(Some(
                registry.workers(Utc::now() - WORKER_ALIVE_WINDOW).await?,
            )),
            None => Ok(None),
        }
    }

    /// Since when the oldest pending task has been runnable, as of `now`: the oldest queued
    /// task, and scheduled tasks whose run time has passed (the oldest 100 by creation are
    /// looked at). `None` when nothing waits.
    ///
    /// # Errors
    /// [`Error::TaskLog`] when the log cannot be read.
    pub async fn oldest_pending(&self, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, Error> {
        let only = |state| TaskFilter {
            statuses: vec![state],
            ..TaskFilter::default()
        };
        let queued = self.log.oldest(&only(TaskState::Queued), 1).await?;
        let scheduled = self
            .log
            .oldest(&only(TaskState::Scheduled), SCHEDULED_SAMPLE)
            .await?;
        let due = scheduled
            .iter()
            .filter(|t| t.run_at.is_none_or(|at| at <= now));
        Ok(queued.iter().chain(due).map(runnable_since).min())
    }
}

impl TaskDetails {
    /// True while the task waits for a worker with a handler for its name: a worker without
    /// one handed it back (the last history entry says so) and no worker has started it since.
    pub fn waiting_for_handler(&self) -> bool {
        !self.task.status.is_final()
            && self.task.status != TaskState::InProgress
            && self
                .history
                .last()
                .is_some_and(|entry| entry.note == Some(NoteKind::WaitingForHandler))
    }

    /// The attempt that decided the task, once one has: the newest attempt, when it is final
    /// and does not hand over to a further attempt (`success`, `failed` or `cancelled`).
    /// `None` while an attempt waits or runs. `cogman send --wait` waits for it.
    pub fn outcome(&self) -> Option<&Task> {
        let newest = newest_attempt(&self.attempts)?;
        (newest.status.is_final() && newest.status != TaskState::Retry).then_some(newest)
    }
}

/// The newest of a chain's attempts: the highest attempt number (the newest id among equal
/// numbers, which only tasks retried before attempt numbers were checked can have).
pub(crate) fn newest_attempt(attempts: &[Task]) -> Option<&Task> {
    attempts.iter().max_by_key(|t| (t.attempt, t.id))
}

/// Lowers the queues' `scheduled` figures, in order, so their sum is at most `scheduled`.
fn cap_scheduled(stats: &mut [QueueStats], scheduled: u64) {
    let mut left = scheduled;
    for queue in stats {
        queue.scheduled = queue.scheduled.min(left);
        left -= queue.scheduled;
    }
}

/// Since when a task may run: its creation, or its run time if later.
fn runnable_since(task: &Task) -> DateTime<Utc> {
    task.run_at
        .map_or(task.created_at, |at| at.max(task.created_at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheduled_figures_are_capped_by_the_logs_count() {
        let queue = |scheduled| QueueStats {
            name: "q".into(),
            priority: None,
            ready: 1,
            scheduled,
            in_flight: 0,
            consumers: None,
        };
        let mut stats = vec![queue(2), queue(3)];
        cap_scheduled(&mut stats, 4);
        assert_eq!(
            stats.iter().map(|q| q.scheduled).collect::<Vec<_>>(),
            [2, 2]
        );
        cap_scheduled(&mut stats, 10);
        assert_eq!(
            stats.iter().map(|q| q.scheduled).collect::<Vec<_>>(),
            [2, 2]
        );
        cap_scheduled(&mut stats, 0);
        assert_eq!(
            stats
                .iter()
                .map(|q| (q.scheduled, q.ready))
                .collect::<Vec<_>>(),
            [(0, 1), (0, 1)]
        );
    }

    #[test]
    fn a_delayed_task_is_runnable_from_its_run_time() {
        let now = Utc::now();
        let mut task = Task::from_spec(cogman_core::TaskSpec::new("t", vec![]), now);
        assert_eq!(runnable_since(&task), now);
        task.run_at = Some(now + TimeDelta::seconds(5));
        assert_eq!(runnable_since(&task), now + TimeDelta::seconds(5));
    }
}
