//! [`Client`]: sends tasks and acts on them (get, retry, cancel). A task is accepted only once
//! it is durable: in the broker (committed or confirmed), or — when the broker is unreachable —
//! recorded `initiated` in a durable log that the [relay](relay) publishes from later (the
//! seed's re-enqueue). Without a durable log, tasks wait in a bounded memory buffer and are
//! reported as [`SendStatus::Buffered`], never as queued.

mod coverage;
mod relay;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use cogman_core::{
    Broker, BrokerError, Claim, Limits, RecordOutcome, StateChange, Task, TaskId, TaskLog,
    TaskSpec, TaskState,
};
use serde::Serialize;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::error::Error;
use crate::telemetry::{SpanKind, Tracer};

/// Where an accepted task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SendStatus {
    /// In the broker, ready to run.
    Queued,
    /// In the broker, waiting for its run time.
    Scheduled,
    /// The broker is unreachable; the task is durable in the task log and will be published
    /// when the broker is back (its retry count unchanged).
    Initiated,
    /// The broker is unreachable and no durable log is configured: the task is held in this
    /// process's memory only, and published when the broker is back.
    Buffered,
    /// The task carried a unique key that a live task already holds: nothing was sent, and
    /// the receipt's id is the holder's (docs/scheduling.md).
    Duplicate,
}

/// The answer to a send: the task's id, where it is, and a warning when no live worker can
/// run it yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SendReceipt {
    /// The id cogman assigned.
    pub id: TaskId,
    /// Where the task is.
    pub status: SendStatus,
    /// Set by [`Client::send_task`] when the worker registry is readable and no live worker
    /// has a handler for the task's name on its queue: the task is accepted and waits until
    /// such a worker starts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl SendReceipt {
    /// True when the send was answered with the task already holding its unique key.
    pub fn is_duplicate(&self) -> bool {
        self.status == SendStatus::Duplicate
    }
}

/// Client settings (derived from [`crate::Config`] by [`Client::connect`]).
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Input limits.
    pub limits: Limits,
    /// How long one publish may take before the task is left to the outbox or buffer.
    pub request_timeout: Duration,
    /// Capacity of the memory buffer.
    pub send_buffer: usize,
    /// How often the relay looks for unpublished tasks (it also runs at start and after a
    /// failed publish).
    pub relay_interval: Duration,
    /// Records the spans of sends and publishes (and, through the worker that uses this
    /// client, of runs). Default: disabled.
    pub tracer: Tracer,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            limits: Limits::default(),
            request_timeout: Duration::from_secs(5),
            send_buffer: 10_000,
            relay_interval: Duration::from_secs(5),
            tracer: Tracer::disabled(),
        }
    }
}

pub(crate) struct ClientInner {
    pub(crate) broker: Arc<dyn Broker>,
    pub(crate) log: Arc<dyn TaskLog>,
    options: ClientOptions,
    buffer: Mutex<VecDeque<Task>>,
    /// Which live workers serve which handlers and queues (for the send warning).
    coverage: coverage::Coverage,
    /// Wakes the relay: a publish failed, or the buffer has work.
    wake: Notify,
    shutdown: CancellationToken,
    tracker: TaskTracker,
    /// The broker was opened for this client ([`Client::connect`]): `close` closes it too.
    owns_broker: bool,
}

/// Sends tasks. Cheap to clone; clones share connections and the background relay.
#[derive(Clone)]
pub struct Client {
    inner: Arc<ClientInner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("broker", &self.inner.broker)
            .field("log", &self.inner.log)
            .field("buffered", &self.buffered())
            .finish()
    }
}

impl Client {
    /// A client over the given backends. Starts the background relay, which publishes tasks
    /// accepted while the broker was unreachable (must be called inside a Tokio runtime).
    /// The broker stays the caller's: [`Client::close`] leaves it open.
    pub fn new(broker: Arc<dyn Broker>, log: Arc<dyn TaskLog>, options: ClientOptions) -> Client {
        Client::build(broker, log, options, false)
    }

    /// A client over backends opened for it alone: [`Client::close`] closes the broker too.
    pub(crate) fn owning(
        broker: Arc<dyn Broker>,
        log: Arc<dyn TaskLog>,
        options: ClientOptions,
    ) -> Client {
        Client::build(broker, log, options, true)
    }

    fn build(
        broker: Arc<dyn Broker>,
        log: Arc<dyn TaskLog>,
        options: ClientOptions,
        owns_broker: bool,
    ) -> Client {
        let inner = Arc::new(ClientInner {
            broker,
            log,
            options,
            buffer: Mutex::new(VecDeque::new()),
            coverage: coverage::Coverage::default(),
            wake: Notify::new(),
            shutdown: CancellationToken::new(),
            tracker: TaskTracker::new(),
            owns_broker,
        });
        inner.tracker.spawn(relay::run(Arc::clone(&inner)));
        Client { inner }
    }

    /// Connects the backends named by `config` and returns a client over them; the client
    /// owns them, so [`Client::close`] closes the broker's connection too.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad config; [`Error::Backend`] when a backend cannot be opened.
    pub async fn connect(config: &crate::Config) -> Result<Client, Error> {
        let backends = crate::backends::Backends::open(config).await?;
        Ok(backends.own_client(config))
    }

    /// Sends a task: validates it, records it and hands it to the broker.
    ///
    /// A task with a unique key ([`TaskSpec::unique_key`]) is recorded only if no live task
    /// holds the key, decided atomically by the log; otherwise nothing is sent and the receipt
    /// names the holder with [`SendStatus::Duplicate`] (not an error).
    ///
    /// # Errors
    /// [`Error::Validation`] for bad input (nothing is written); [`Error::Broker`] with
    /// [`BrokerError::BufferFull`] when the broker is unreachable and the memory buffer is
    /// full; [`Error::TaskLog`] when the task could not be recorded.
    pub async fn send_task(&self, spec: TaskSpec) -> Result<SendReceipt, Error> {
        let now = Utc::now();
        self.validate(&spec)?;
        let key = spec.unique();
        let mut task = Task::from_spec(spec, now);
        // The message carries the send span's context: the worker's spans are its children.
        let mut span = self.inner.options.tracer.start(
            "cogman.send",
            SpanKind::Producer,
            task.trace.as_ref(),
            &task,
        );
        task.trace = span.context();
        let (name, queue) = (task.name.clone(), task.queue.clone());
        let sent = match key {
            None => self.dispatch(task).await,
            Some(key) => match self.inner.log.create_unique(&task, &key).await {
                Ok(Claim::Created) => self.publish_created(task).await,
                Ok(Claim::Held { by }) => {
                    span.set("cogman.duplicate_of", || by.to_string());
                    return Ok(SendReceipt {
                        id: by,
                        status: SendStatus::Duplicate,
                        warning: None,
                    });
                }
                Err(error) => Err(error.into()),
            },
        };
        let mut receipt = sent.inspect_err(|error| span.fail(error))?;
        drop(span);
        receipt.warning = self
            .inner
            .coverage
            .warning(&*self.inner.log, &name, &queue)
            .await;
        Ok(receipt)
    }

    /// Checks `spec` against this client's limits without sending it.
    ///
    /// # Errors
    /// The first [`cogman_core::ValidationError`] found.
    pub fn validate(&self, spec: &TaskSpec) -> Result<(), Error> {
        Ok(spec.validate(&self.inner.options.limits, Utc::now())?)
    }

    /// This client's input limits.
    pub fn limits(&self) -> &Limits {
        &self.inner.options.limits
    }

    /// Records `task` as initiated, then publishes it.
    pub(crate) async fn dispatch(&self, task: Task) -> Result<SendReceipt, Error> {
        self.inner.log.create(&task).await?;
        self.publish_created(task).await
    }

    /// Publishes a task already recorded as initiated.
    async fn publish_created(&self, task: Task) -> Result<SendReceipt, Error> {
        let inner = &self.inner;
        match inner.publish(&task).await {
            Ok(status) => Ok(SendReceipt {
                id: task.id,
                status,
                warning: None,
            }),
            Err(error) if error.is_transient() => self.hold(task, error).await,
            Err(error) => {
                inner.refused(&task, &error).await;
                Err(error.into())
            }
        }
    }

    /// Keeps a task the broker could not take: the durable log already holds it when it has
    /// an outbox; otherwise it waits in the memory buffer. A task the full buffer cannot take
    /// is refused, and recorded as not accepted.
    async fn hold(&self, task: Task, error: BrokerError) -> Result<SendReceipt, Error> {
        let inner = &self.inner;
        tracing::warn!(task_id = %task.id, %error, "broker unreachable; task kept for re-enqueue");
        let status = if inner.log.outbox().is_some() {
            SendStatus::Initiated
        } else {
            let held = {
                let mut buffer = inner
                    .buffer
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let room = buffer.len() < inner.options.send_buffer;
                if room {
                    buffer.push_back(task.clone());
                }
                room
            };
            if !held {
                let full = BrokerError::BufferFull {
                    capacity: inner.options.send_buffer,
                };
                inner.refused(&task, &full).await;
                return Err(full.into());
            }
            SendStatus::Buffered
        };
        inner.wake.notify_one();
        Ok(SendReceipt {
            id: task.id,
            status,
            warning: None,
        })
    }

    /// Tasks held in memory waiting for the broker.
    pub fn buffered(&self) -> usize {
        self.inner
            .buffer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// The task with this id.
    ///
    /// # Errors
    /// [`Error::TaskLog`] when the log cannot be read.
    pub async fn get(&self, id: TaskId) -> Result<Option<Task>, Error> {
        Ok(self.inner.log.get(id).await?)
    }

    /// Runs a finished task again as a new attempt with `retry` retries of its own — the
    /// seed's `/retry`. `id` may be any attempt of the task: the new attempt follows the
    /// newest one (same `original_task_id`, the next attempt number, so numbers never repeat).
    ///
    /// A task has one live attempt at a time: while its newest attempt waits or runs, the
    /// retry is refused with [`Error::AttemptPending`] naming it. Retries racing past that check
    /// all ask for the same attempt number, which every log stores at most once
    /// ([`TaskLog::create`]): exactly one creates it, and the others get
    /// [`Error::AttemptPending`] naming the one created.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::AttemptPending`] while an attempt waits or runs.
    pub async fn retry(&self, id: TaskId, retry: u32) -> Result<SendReceipt, Error> {
        let task = self.inner.log.get(id).await?.ok_or(Error::NotFound(id))?;
        if retry > self.inner.options.limits.max_retry {
            return Err(cogman_core::ValidationError::RetryTooLarge {
                retry,
                max: self.inner.options.limits.max_retry,
            }
            .into());
        }
        let newest = self.newest_attempt(&task).await?;
        if !newest.status.is_final() || newest.status == TaskState::Retry {
            return Err(Error::AttemptPending {
                attempt: newest.id,
                number: newest.attempt,
                state: newest.status,
            });
        }
        let now = Utc::now();
        let mut next = newest.next_attempt(now, now);
        next.retry = retry;
        next.run_at = None;
        match self.dispatch(next).await {
            Err(Error::TaskLog(cogman_core::TaskLogError::AttemptTaken {
                attempt,
                taken_by,
                ..
            })) => {
                let state = self
                    .inner
                    .log
                    .get(taken_by)
                    .await?
                    .map_or(TaskState::Initiated, |taken| taken.status);
                Err(Error::AttemptPending {
                    attempt: taken_by,
                    number: attempt,
                    state,
                })
            }
            sent => sent,
        }
    }

    /// Cancels a task that has not finished, whichever of its attempts `id` names: its
    /// newest attempt is cancelled, so a waiting retry will not run, a running one has its
    /// cancellation token fired by its worker, and no further attempt starts (the worker
    /// checks before sending one). Cancelling a cancelled task again is a no-op.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::InvalidState`] when the task already finished (naming
    /// its newest attempt).
    pub async fn cancel(&self, id: TaskId) -> Result<(), Error> {
        /// Newer attempts to chase, should they keep appearing while cancelling.
        const ROUNDS: usize = 8;
        let task = self.inner.log.get(id).await?.ok_or(Error::NotFound(id))?;
        let mut newest = self.newest_attempt(&task).await?;
        for _ in 0..ROUNDS {
            let change =
                StateChange::new(newest.id, TaskState::Cancelled).error("cancelled on request");
            let current = match self.inner.log.record(&change).await? {
                RecordOutcome::Applied | RecordOutcome::Unchanged => TaskState::Cancelled,
                RecordOutcome::Stale { current } => current,
                RecordOutcome::Missing => return Err(Error::NotFound(newest.id)),
            };
            // A worker may have sent a further attempt meanwhile: that one is cancelled too.
            let now_newest = self.newest_attempt(&task).await?;
            if now_newest.id != newest.id {
                newest = now_newest;
                continue;
            }
            return match current {
                TaskState::Cancelled => Ok(()),
                state => Err(Error::InvalidState {
                    id: newest.id,
                    state,
                    action: "cancel",
                }),
            };
        }
        Err(Error::InvalidState {
            id: newest.id,
            state: newest.status,
            action: "cancel",
        })
    }

    /// The newest attempt of `task`'s chain (`task` itself when the log lists none).
    pub(crate) async fn newest_attempt(&self, task: &Task) -> Result<Task, Error> {
        let newest =
            crate::workflow::attempts::latest(self.inner.log.as_ref(), task.original_task_id)
                .await?;
        Ok(newest.unwrap_or_else(|| task.clone()))
    }

    /// Reads over this client's backends: task details, lists, counts, queues, workers.
    pub fn inspector(&self) -> crate::Inspector {
        crate::Inspector::new(Arc::clone(&self.inner.log), Arc::clone(&self.inner.broker))
    }

    /// The task log this client writes to (readers use [`Client::inspector`]).
    pub fn log(&self) -> &Arc<dyn TaskLog> {
        &self.inner.log
    }

    /// The tracer of this client's spans (and of the spans of a worker that uses it).
    pub fn tracer(&self) -> &Tracer {
        &self.inner.options.tracer
    }

    /// The broker this client publishes to.
    pub fn broker(&self) -> &Arc<dyn Broker> {
        &self.inner.broker
    }

    /// Whether [`Client::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.inner.shutdown.is_cancelled()
    }

    /// Stops the relay (after one last attempt to publish buffered tasks) and writes the
    /// state changes the log held back ([`TaskLog::flush`]). A client from
    /// [`Client::connect`] then closes its broker, in order (RabbitMQ: the publisher's channel,
    /// then the connection), so no channel is closed twice while the connection goes; a client
    /// from [`Client::new`] leaves the broker to its caller.
    pub async fn close(&self) {
        self.inner.shutdown.cancel();
        self.inner.tracker.close();
        self.inner.tracker.wait().await;
        if let Err(error) = self.inner.log.flush().await {
            tracing::warn!(%error, "could not write the state changes the task log held back");
        }
        self.inner.options.tracer.flush().await;
        if self.inner.owns_broker
            && let Err(error) = self.inner.broker.close().await
        {
            tracing::debug!(%error, "closing the broker");
        }
    }
}

impl ClientInner {
    /// Records a task the broker (or the full buffer) did not accept as failed, so its record
    /// does not look like one waiting to be published.
    async fn refused(&self, task: &Task, error: &BrokerError) {
        let change =
            StateChange::new(task.id, TaskState::Failed).error(format!("not accepted: {error}"));
        if let Err(log_error) = self.log.record(&change).await {
            tracing::warn!(task_id = %task.id, %log_error, "could not record a refused task");
        }
        release_unique(self.log.as_ref(), task).await;
    }

    /// Publishes within the request timeout and records the queued/scheduled state.
    async fn publish(&self, task: &Task) -> Result<SendStatus, BrokerError> {
        let timeout = self.options.request_timeout;
        let mut span = self.options.tracer.start(
            "cogman.publish",
            SpanKind::Client,
            task.trace.as_ref(),
            task,
        );
        tokio::time::timeout(timeout, self.broker.publish(task))
            .await
            .map_err(|_| BrokerError::ConfirmTimeout(timeout))
            .flatten()
            .inspect_err(|error| span.fail(error))?;
        drop(span);
        let state = task.enqueued_state(Utc::now());
        let enqueued = StateChange::new(task.id, state);
        if let Err(error) = self.log.record_transient(&enqueued).await {
            // The broker holds the task; the worker's records will move it on.
            tracing::warn!(task_id = %task.id, %error, "task published but its queued state was not recorded");
        }
        Ok(if state == TaskState::Scheduled {
            SendStatus::Scheduled
        } else {
            SendStatus::Queued
        })
    }
}

/// Releases the unique key `task`'s chain holds "until finished" (if any), now that the chain
/// ended; retried a few times while the log is unreachable, then logged.
pub(crate) async fn release_unique(log: &dyn TaskLog, task: &Task) {
    let Some(key) = &task.unique_key else {
        return;
    };
    let holder = task.original_task_id;
    let released = cogman_core::retry_transient(
        5,
        cogman_core::TaskLogError::is_transient,
        || log.release_unique(key, holder),
        |_, _, wait| tokio::time::sleep(wait),
    )
    .await;
    if let Err(error) = released {
        tracing::warn!(task_id = %task.id, %error, unique_key = %key, "could not release the unique key of a finished task; it stays held");
    }
}
