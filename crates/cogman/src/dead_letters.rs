//! Dead letters, uniformly on every backend. The task log's
//! [`DeadLetterStore`](cogman_core::DeadLetterStore) is the source of truth:
//!
//! - [`collect_dead_letters`] runs in every [`Worker`](crate::Worker) and in `cogman serve`: it
//!   takes the dead letters a broker keeps outside the log (RabbitMQ's dead-letter queue:
//!   malformed and poison messages, and messages RabbitMQ dead-lettered itself), stores each
//!   in the log, records its task `failed` with the reason (creating the record of a task the
//!   log never saw), and only then acks it. Storing is idempotent by the message's key, so a
//!   message handed over twice is listed once. The embedded queue moves dead letters into its
//!   file (and fails the task in the same transaction): when that file is the log, nothing is
//!   left to collect; when the log is PostgreSQL or Redis, the queue hands them over the same
//!   way (stored and failed in the log, then deleted from the file).
//! - [`Inspector::dead_letters`](crate::Inspector) lists them; [`Client::requeue_dead_letter`]
//!   sends the task again as a new attempt of its chain, [`Client::remove_dead_letter`] and
//!   [`Client::purge_dead_letters`] delete them.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use cogman_core::{
    Broker, BrokerError, CollectedDeadLetter, DeadLetter, DeadLetterPage, DeadLetterStore,
    RecordOutcome, StateChange, TaskLog, TaskLogError, TaskState,
};
use tokio_util::sync::CancellationToken;

use crate::client::{Client, SendReceipt};
use crate::error::Error;
use crate::inspector::Inspector;

/// First pause after a failed call, doubled up to [`PAUSE_MAX`].
const PAUSE: Duration = Duration::from_millis(200);
const PAUSE_MAX: Duration = Duration::from_secs(10);

/// Takes the broker's dead letters into the log until `stop` fires (see the module docs).
/// Returns at once when the broker keeps none outside the log or the log cannot store them.
pub async fn collect_dead_letters(
    broker: Arc<dyn Broker>,
    log: Arc<dyn TaskLog>,
    stop: CancellationToken,
) {
    if log.dead_letter_store().is_none() {
        return;
    }
    let mut pause = PAUSE;
    let mut feed = loop {
        let feed = tokio::select! {
            () = stop.cancelled() => return,
            feed = broker.dead_letter_feed() => feed,
        };
        match feed {
            Ok(Some(feed)) => break feed,
            Ok(None) | Err(BrokerError::Closed) => return,
            Err(error) => {
                tracing::debug!(%error, "dead-letter collector cannot start yet");
                if !sleep(&stop, &mut pause).await {
                    return;
                }
            }
        }
    };
    loop {
        let next = tokio::select! {
            () = stop.cancelled() => return,
            next = feed.next() => next,
        };
        match next {
            Ok(collected) => {
                if !collect_one(log.as_ref(), collected, &stop).await {
                    return;
                }
            }
            Err(BrokerError::Closed) => return,
            Err(error) => {
                tracing::debug!(%error, "dead-letter collector waiting for the broker");
                if !sleep(&stop, &mut pause).await {
                    return;
                }
            }
        }
    }
}

/// [`collect_dead_letters`] running on its own (for processes without a worker: `cogman serve
/// --no-worker`). Stops on [`DeadLetterCollector::stop`] or when dropped.
#[derive(Debug)]
pub struct DeadLetterCollector {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl DeadLetterCollector {
    /// Starts collecting from `broker` into `log`.
    pub fn start(broker: Arc<dyn Broker>, log: Arc<dyn TaskLog>) -> DeadLetterCollector {
        let stop = CancellationToken::new();
        let task = tokio::spawn(collect_dead_letters(broker, log, stop.clone()));
        DeadLetterCollector { stop, task }
    }

    /// Stops it and waits for it to end (a dead letter being stored is acked first).
    pub async fn stop(mut self) {
        self.stop.cancel();
        if let Err(error) = (&mut self.task).await {
            tracing::warn!(%error, "the dead-letter collector ended abnormally");
        }
    }
}

impl Drop for DeadLetterCollector {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Waits `pause` (then doubles it); false when `stop` fired first.
async fn sleep(stop: &CancellationToken, pause: &mut Duration) -> bool {
    let wait = *pause;
    *pause = (*pause * 2).min(PAUSE_MAX);
    tokio::select! {
        () = stop.cancelled() => false,
        () = tokio::time::sleep(wait) => true,
    }
}

/// Stores one dead letter, fails its task, acks it; false when `stop` fired before it was
/// stored (it is then handed over again later).
async fn collect_one(
    log: &dyn TaskLog,
    collected: CollectedDeadLetter,
    stop: &CancellationToken,
) -> bool {
    let Some(store) = log.dead_letter_store() else {
        return false;
    };
    let entry = collected.entry.clone().bounded();
    let mut pause = PAUSE;
    loop {
        match store_and_fail(log, store, &entry).await {
            Ok(id) => {
                tracing::warn!(dead_letter = id, task_id = ?entry.task_id, reason = %entry.reason, "dead letter stored");
                break;
            }
            Err(error) => {
                tracing::warn!(%error, "could not store a dead letter; retrying");
                if !sleep(stop, &mut pause).await {
                    return false;
                }
            }
        }
    }
    if let Err(error) = collected.ack().await {
        tracing::debug!(%error, "acking a stored dead letter failed; it comes back and is stored once");
    }
    true
}

async fn store_and_fail(
    log: &dyn TaskLog,
    store: &dyn DeadLetterStore,
    entry: &cogman_core::NewDeadLetter,
) -> Result<u64, TaskLogError> {
    let id = store.add_dead_letter(entry).await?;
    if let Some(task_id) = entry.task_id {
        let change = StateChange::new(task_id, TaskState::Failed).error(entry.reason.clone());
        if log.record(&change).await? == RecordOutcome::Missing
            && let Some(task) = &entry.task
        {
            let mut failed = task.clone();
            failed.status = TaskState::Failed;
            failed.fail_error = Some(entry.reason.clone());
            failed.updated_at = Utc::now();
            log.create(&failed).await?;
        }
    }
    Ok(id)
}

fn store_of(log: &Arc<dyn TaskLog>) -> Result<&dyn DeadLetterStore, Error> {
    log.dead_letter_store().ok_or(Error::DeadLettersUnsupported)
}

impl Inspector {
    /// Up to `limit` dead letters with an id below `before`, newest first.
    ///
    /// # Errors
    /// [`Error::DeadLettersUnsupported`]; a task-log error.
    pub async fn dead_letters(
        &self,
        before: Option<u64>,
        limit: u32,
    ) -> Result<DeadLetterPage, Error> {
        let limit = limit.clamp(1, cogman_core::PageRequest::MAX_LIMIT);
        Ok(store_of(self.log())?.dead_letters(before, limit).await?)
    }

    /// One dead letter.
    ///
    /// # Errors
    /// [`Error::DeadLettersUnsupported`]; a task-log error.
    pub async fn dead_letter(&self, id: u64) -> Result<Option<DeadLetter>, Error> {
        Ok(store_of(self.log())?.dead_letter(id).await?)
    }
}

impl Client {
    /// Sends the task of dead letter `id` again, as a new attempt of its chain (same name,
    /// payload, priority, key and retry budget; `original_task_id` links it to the dead task),
    /// and removes the dead letter.
    ///
    /// # Errors
    /// [`Error::DeadLetterNotFound`]; [`Error::DeadLetterNotRequeueable`] when its message did
    /// not decode to a task; [`Error::AttemptPending`] when a newer attempt of the chain waits
    /// or runs; a send error (the dead letter is then kept).
    pub async fn requeue_dead_letter(&self, id: u64) -> Result<SendReceipt, Error> {
        let store = store_of(self.log())?;
        let dead = store
            .dead_letter(id)
            .await?
            .ok_or(Error::DeadLetterNotFound(id))?;
        let Some(task) = dead.entry.task.clone() else {
            return Err(Error::DeadLetterNotRequeueable {
                id,
                reason: dead.entry.reason.clone(),
            });
        };
        let base = match self.log().get(task.id).await? {
            Some(record) => {
                let newest = self.newest_attempt(&record).await?;
                if newest.id != task.id
                    && (!newest.status.is_final() || newest.status == TaskState::Retry)
                {
                    return Err(Error::AttemptPending {
                        attempt: newest.id,
                        number: newest.attempt,
                        state: newest.status,
                    });
                }
                newest
            }
            None => task.clone(),
        };
        if !store.remove_dead_letter(id).await? {
            return Err(Error::DeadLetterNotFound(id));
        }
        let now = Utc::now();
        let mut next = base.next_attempt(now, now);
        next.retry = task.retry;
        next.run_at = None;
        match self.dispatch(next).await {
            Ok(receipt) => Ok(receipt),
            Err(error) => {
                if let Err(e) = store.add_dead_letter(&dead.entry).await {
                    tracing::warn!(error = %e, dead_letter = id, "could not keep a dead letter whose requeue failed");
                }
                Err(error)
            }
        }
    }

    /// Deletes dead letter `id`.
    ///
    /// # Errors
    /// [`Error::DeadLetterNotFound`]; a task-log error.
    pub async fn remove_dead_letter(&self, id: u64) -> Result<(), Error> {
        if store_of(self.log())?.remove_dead_letter(id).await? {
            Ok(())
        } else {
            Err(Error::DeadLetterNotFound(id))
        }
    }

    /// Deletes every dead letter; returns how many there were.
    ///
    /// # Errors
    /// A task-log error.
    pub async fn purge_dead_letters(&self) -> Result<u64, Error> {
        Ok(store_of(self.log())?.purge_dead_letters().await?)
    }
}
