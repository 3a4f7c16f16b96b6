//! [`Worker`] (the seed's "server"): consumes deliveries, runs the registered handler of each
//! with bounded concurrency, and settles it — outcome recorded durably first, ack second.
//!
//! - `execute`: one handler call (timeout, panic, cancel, lease renewal).
//! - `settle`: outcome → state, retry with backoff, record, ack.
//! - `no_handler`: a task this worker has no handler for is handed back for another worker,
//!   and fails only after `handler_wait`.
//! - `limits`: a task over its rate or concurrency limit is handed back until the limiter
//!   says; one admitted under a concurrency holds a lease while it runs.
//! - `heartbeat`: worker announcements for the API and CLI.
//! - `stats`: the counters a worker keeps; its Prometheus metrics are
//!   [`WorkerMetrics`](crate::metrics::WorkerMetrics) (module `metrics`).
//! - [`Retention`](crate::retention::Retention) (its own module): the purge of finished tasks
//!   older than the TTL, which a started worker runs.
//!
//! Stopping is two-staged: [`Worker::stop`] stops claiming, lets running tasks finish within
//! the grace period, then cancels the rest and puts them back on the queue.

mod execute;
mod heartbeat;
mod limits;
mod no_handler;
mod settle;
mod stats;

use std::sync::Arc;
use std::time::{Duration, Instant};

use cogman_core::{
    Backoff, Broker, BrokerError, ConsumeOptions, Consumer, Delivery, Handler, HistoryNote,
    NoteKind, RecordOutcome, StateChange, Task, TaskContext, TaskId, TaskLog, TaskState,
};
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use limits::LIMIT_CHECK;
pub use stats::{StatsSnapshot, WorkerStats};

use crate::metrics::WorkerMetrics;
use crate::queue_pauses::{ActiveQueues, PAUSE_CHECK};
use crate::telemetry::SpanKind;

/// Told about every settled attempt (for metrics, or the CLI worker's one line per attempt).
/// Must be quick: it runs on the worker's path.
pub trait TaskObserver: Send + Sync {
    /// An attempt (`task`, as it was when claimed) ended in `state` after running for
    /// `ran_for`; the outcome is already recorded.
    fn settled(&self, task: &Task, state: TaskState, ran_for: Duration);
}

use crate::client::Client;
use crate::error::Error;
use crate::registry::Registry;
use crate::retention::{Retention, RetentionOptions};
use crate::scheduler::{Scheduler, SchedulerOptions};

/// Worker settings (derived from [`crate::Config`]).
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Most tasks run at once.
    pub concurrency: u32,
    /// The named queues it consumes (both priorities of each). Default `["default"]`.
    pub queues: Vec<String>,
    /// Deliveries held unsettled (at least `concurrency`).
    pub prefetch: u16,
    /// Lease on a claimed task (embedded broker); renewed while it runs.
    pub lease: Duration,
    /// Time running tasks get to finish on stop.
    pub shutdown_grace: Duration,
    /// Handler timeout for tasks that set none.
    pub task_timeout: Duration,
    /// How long a handler told to stop (timeout, cancel, hard stop) may take to return before
    /// it is dropped; shell handlers get SIGTERM, then SIGKILL after it.
    pub kill_grace: Duration,
    /// Largest result a handler may return; a larger one fails the attempt.
    pub max_result_bytes: usize,
    /// How long a task this worker has no handler for may wait for another worker (measured
    /// from its first such delivery) before it fails.
    pub handler_wait: Duration,
    /// Delay between attempts.
    pub backoff: Backoff,
    /// The periodic purge of finished tasks the worker runs while started ([`Retention`]);
    /// `None` (the default of a worker built from parts) purges nothing.
    pub retention: Option<RetentionOptions>,
    /// The scheduler of periodic tasks the worker runs while started ([`Scheduler`]); `None`
    /// (the default of a worker built from parts) runs none.
    pub scheduler: Option<SchedulerOptions>,
}

impl WorkerOptions {
    /// The same options consuming the named `queues` instead.
    #[must_use]
    pub fn queues<I, S>(mut self, queues: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.queues = queues.into_iter().map(Into::into).collect();
        self
    }
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            concurrency: 10,
            queues: vec![cogman_core::default_queue()],
            prefetch: 10,
            lease: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(10),
            task_timeout: Duration::from_secs(25 * 60),
            kill_grace: Duration::from_secs(5),
            max_result_bytes: 1024 * 1024,
            handler_wait: Duration::from_secs(3600),
            backoff: Backoff::default(),
            retention: None,
            scheduler: None,
        }
    }
}

pub(crate) struct WorkerInner {
    pub(crate) id: String,
    pub(crate) broker: Arc<dyn Broker>,
    pub(crate) log: Arc<dyn TaskLog>,
    /// Sends retries (a retry is a new task, as in the seed).
    pub(crate) client: Client,
    /// The client was made for this worker ([`Worker::connect`]): `stop` closes it too.
    owns_client: bool,
    pub(crate) registry: Registry,
    pub(crate) options: WorkerOptions,
    pub(crate) stats: Arc<WorkerStats>,
    /// Prometheus metrics fed as attempts start and settle ([`Worker::metrics`]).
    pub(crate) metrics: Arc<WorkerMetrics>,
    retention: Option<Retention>,
    scheduler: Option<Scheduler>,
    pub(crate) observer: std::sync::OnceLock<Arc<dyn TaskObserver>>,
    /// The rate and concurrency limits, as last read from the log.
    limits: limits::LimitCache,
    /// Stop claiming new work.
    pub(crate) stop: CancellationToken,
    /// Interrupt running handlers.
    hard_stop: CancellationToken,
    tasks: TaskTracker,
}

/// Runs handlers for tasks it consumes. Cheap to clone.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<WorkerInner>,
    main: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("id", &self.inner.id)
            .field("registry", &self.inner.registry)
            .finish()
    }
}

impl Worker {
    /// A worker over the given backends; it sends retries through `client`, which stays the
    /// caller's: [`Worker::stop`] leaves it open.
    pub fn new(
        broker: Arc<dyn Broker>,
        log: Arc<dyn TaskLog>,
        client: Client,
        options: WorkerOptions,
    ) -> Worker {
        Worker::build(broker, log, client, options, false)
    }

    /// A worker over the given backends with a client of its own, which [`Worker::stop`]
    /// closes.
    pub(crate) fn with_own_client(
        broker: Arc<dyn Broker>,
        log: Arc<dyn TaskLog>,
        client: Client,
        options: WorkerOptions,
    ) -> Worker {
        Worker::build(broker, log, client, options, true)
    }

    fn build(
        broker: Arc<dyn Broker>,
        log: Arc<dyn TaskLog>,
        client: Client,
        options: WorkerOptions,
        owns_client: bool,
    ) -> Worker {
        let id = format!(
            "{}-{}",
            std::process::id(),
            &uuid::Uuid::now_v7().simple().to_string()[20..]
        );
        let stats = Arc::new(WorkerStats::default());
        let retention = options
            .retention
            .map(|retention| Retention::new(Arc::clone(&log), retention));
        let scheduler = options
            .scheduler
            .clone()
            .map(|scheduler| Scheduler::new(client.clone(), id.clone(), scheduler));
        Worker {
            inner: Arc::new(WorkerInner {
                id,
                broker,
                log,
                client,
                owns_client,
                registry: Registry::default(),
                retention,
                scheduler,
                options,
                metrics: Arc::new(WorkerMetrics::new(Arc::clone(&stats))),
                stats,
                observer: std::sync::OnceLock::new(),
                limits: limits::LimitCache::default(),
                stop: CancellationToken::new(),
                hard_stop: CancellationToken::new(),
                tasks: TaskTracker::new(),
            }),
            main: Arc::new(Mutex::new(None)),
        }
    }

    /// Connects the backends named by `config` and returns a worker over them.
    ///
    /// # Errors
    /// [`Error::Config`] for a bad config; [`Error::Backend`] when a backend cannot be opened.
    pub async fn connect(config: &crate::Config) -> Result<Worker, Error> {
        let backends = crate::backends::Backends::open(config).await?;
        Ok(backends.worker(config))
    }

    /// Registers `handler` for tasks named `name`; allowed before or after [`Worker::start`].
    ///
    /// # Errors
    /// [`Error::DuplicateHandler`] when the name is taken; [`Error::Validation`] for a bad name.
    pub fn register(&self, name: &str, handler: impl Handler) -> Result<(), Error> {
        self.inner.registry.register(name, Arc::new(handler))
    }

    /// The handler registry.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// This worker's unique id.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    /// The settings it runs with.
    pub fn options(&self) -> &WorkerOptions {
        &self.inner.options
    }

    /// Counters since start.
    pub fn stats(&self) -> StatsSnapshot {
        self.inner.stats.snapshot()
    }

    /// Its Prometheus metrics (attempts, durations, in flight, queue latency), counted since
    /// it was made: render them ([`WorkerMetrics::render`]) or serve them
    /// ([`MetricsServer`](crate::metrics::MetricsServer)).
    pub fn metrics(&self) -> Arc<WorkerMetrics> {
        Arc::clone(&self.inner.metrics)
    }

    /// Sets the observer told about every settled attempt; only the first call has effect.
    pub fn observe(&self, observer: Arc<dyn TaskObserver>) {
        let _ = self.inner.observer.set(observer);
    }

    /// The scheduler of periodic tasks this worker runs, if its options name one.
    pub fn scheduler(&self) -> Option<&Scheduler> {
        self.inner.scheduler.as_ref()
    }

    /// The purge of finished tasks this worker runs, if its options name one.
    pub fn retention(&self) -> Option<&Retention> {
        self.inner.retention.as_ref()
    }

    /// The client this worker sends retries with.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// Starts consuming in the background. Calling it on a running worker does nothing.
    ///
    /// # Errors
    /// [`Error::WorkerStopped`] if the worker was already stopped.
    pub async fn start(&self) -> Result<(), Error> {
        let mut main = self.main.lock().await;
        if self.inner.stop.is_cancelled() {
            return Err(Error::WorkerStopped);
        }
        if main.is_none() {
            self.inner
                .tasks
                .spawn(heartbeat::run(Arc::clone(&self.inner)));
            if let Some(retention) = &self.inner.retention {
                retention.start();
            }
            if let Some(scheduler) = &self.inner.scheduler {
                scheduler.start();
            }
            self.inner
                .tasks
                .spawn(crate::dead_letters::collect_dead_letters(
                    Arc::clone(self.inner.client.broker()),
                    Arc::clone(&self.inner.log),
                    self.inner.stop.clone(),
                ));
            *main = Some(tokio::spawn(consume_loop(Arc::clone(&self.inner))));
        }
        Ok(())
    }

    /// Runs until `shutdown` resolves, then stops gracefully.
    ///
    /// # Errors
    /// As [`Worker::start`].
    pub async fn run_until(
        &self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), Error> {
        self.start().await?;
        shutdown.await;
        self.stop().await;
        Ok(())
    }

    /// Stops claiming; running tasks get `shutdown_grace` to finish, then are cancelled and
    /// put back on the queue. Returns when every task is settled and the state changes the
    /// log held back are written ([`TaskLog::flush`]); a worker from [`Worker::connect`] also
    /// closes its own client ([`Client::close`]), so dropping it closes its connections.
    pub async fn stop(&self) {
        self.inner.stop.cancel();
        if let Some(retention) = &self.inner.retention {
            retention.stop();
        }
        if let Some(scheduler) = &self.inner.scheduler {
            scheduler.stop().await;
        }
        let main = self.main.lock().await.take();
        self.inner.tasks.close();
        if tokio::time::timeout(self.inner.options.shutdown_grace, self.inner.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(worker = %self.inner.id, "grace period over: interrupting running tasks");
            self.inner.hard_stop.cancel();
            self.inner.tasks.wait().await;
        }
        if let Some(main) = main
            && let Err(error) = main.await
        {
            tracing::error!(%error, "worker loop ended abnormally");
        }
        if self.inner.owns_client {
            // Also flushes the log; ends the relay, which would otherwise keep the backends'
            // connections open after every handle of this worker is dropped.
            self.inner.client.close().await;
        } else if let Err(error) = self.inner.log.flush().await {
            tracing::warn!(%error, "could not write the state changes the task log held back");
        }
    }
}

/// Opens a consumer of `queues`, retrying while the broker is unreachable.
async fn open_consumer(inner: &WorkerInner, queues: &[String]) -> Option<Box<dyn Consumer>> {
    // Fewer deliveries than slots would leave slots idle: hold at least `concurrency`.
    let slots = u16::try_from(inner.options.concurrency).unwrap_or(u16::MAX);
    let options = ConsumeOptions {
        prefetch: inner.options.prefetch.max(slots),
        consumer_tag: format!("cogman-worker-{}", inner.id),
        lease: inner.options.lease,
        queues: queues.to_vec(),
    };
    let mut pause = Duration::from_millis(100);
    loop {
        match inner.broker.consume(options.clone()).await {
            Ok(consumer) => return Some(consumer),
            Err(BrokerError::Closed) => return None,
            Err(error) => tracing::warn!(%error, "cannot consume yet; retrying"),
        }
        tokio::select! {
            () = inner.stop.cancelled() => return None,
            () = tokio::time::sleep(pause) => pause = (pause * 2).min(Duration::from_secs(5)),
        }
    }
}

/// Reads which served queues are paused before the first consumer opens, waiting while the
/// log cannot be read (a paused queue must not deliver because a restart met the log down).
/// False when the worker was stopped meanwhile.
async fn first_read_of_pauses(inner: &WorkerInner, queues: &mut ActiveQueues) -> bool {
    loop {
        match queues.refresh(inner.log.as_ref()).await {
            Ok(_) => return true,
            Err(error) => {
                tracing::warn!(%error, "cannot read the paused queues yet; retrying");
            }
        }
        tokio::select! {
            () = inner.stop.cancelled() => return false,
            () = tokio::time::sleep(PAUSE_CHECK) => {}
        }
    }
}

async fn consume_loop(inner: Arc<WorkerInner>) {
    let mut queues = ActiveQueues::new(inner.options.queues.clone());
    if !first_read_of_pauses(&inner, &mut queues).await {
        return;
    }
    let mut consumer: Option<Box<dyn Consumer>> = None;
    let mut pause_check = tokio::time::interval(PAUSE_CHECK);
    pause_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let slots = Arc::new(Semaphore::new(inner.options.concurrency as usize));
    let mut pause = Duration::from_millis(50);
    loop {
        if consumer.is_none() && !queues.active().is_empty() {
            consumer = open_consumer(&inner, queues.active()).await;
            if consumer.is_none() {
                break;
            }
        }
        let permit = tokio::select! {
            () = inner.stop.cancelled() => break,
            _ = pause_check.tick() => {
                follow_pauses(&inner, &mut queues, &mut consumer).await;
                continue;
            }
            permit = Arc::clone(&slots).acquire_owned() => match permit { Ok(p) => p, Err(_) => break },
        };
        let next = tokio::select! {
            () = inner.stop.cancelled() => break,
            _ = pause_check.tick() => {
                follow_pauses(&inner, &mut queues, &mut consumer).await;
                continue;
            }
            Some(next) = next_delivery(consumer.as_mut()) => next,
        };
        match next {
            Ok(delivery) => {
                pause = Duration::from_millis(50);
                inner
                    .tasks
                    .spawn(process(Arc::clone(&inner), delivery, permit));
            }
            Err(BrokerError::Closed) => break,
            Err(error) => {
                tracing::warn!(%error, "consumer error; waiting for the broker");
                tokio::select! {
                    () = inner.stop.cancelled() => break,
                    () = tokio::time::sleep(pause) => pause = (pause * 2).min(Duration::from_secs(5)),
                }
            }
        }
    }
    // Keep the consumer (and its channel) alive until running tasks are settled.
    inner.tasks.close();
    inner.tasks.wait().await;
    drop(consumer);
}

/// The consumer's next delivery; `None` (never ready) while there is no consumer because
/// every served queue is paused.
async fn next_delivery(
    consumer: Option<&mut Box<dyn Consumer>>,
) -> Option<Result<Delivery, BrokerError>> {
    match consumer {
        Some(consumer) => Some(consumer.next().await),
        None => std::future::pending().await,
    }
}

/// Reads the paused queues again; when the active ones changed, drops the consumer so the
/// loop opens one of the new set. Dropping gives back what it buffered: the SQLite consumer
/// releases its claims, RabbitMQ takes back the unsettled messages of its channels once the
/// deliveries already running are settled. Running tasks finish.
async fn follow_pauses(
    inner: &WorkerInner,
    queues: &mut ActiveQueues,
    consumer: &mut Option<Box<dyn Consumer>>,
) {
    match queues.refresh(inner.log.as_ref()).await {
        Ok(true) => {
            tracing::info!(worker = %inner.id, queues = ?queues.active(), "paused queues changed; consuming the active ones");
            *consumer = None;
        }
        Ok(false) => {}
        Err(error) => {
            tracing::warn!(%error, "cannot read the paused queues; keeping the last answer");
        }
    }
}

async fn process(inner: Arc<WorkerInner>, delivery: Delivery, permit: OwnedSemaphorePermit) {
    let _permit = permit;
    let task = delivery.task().clone();
    let Some(handler) = inner.registry.get(&task.name) else {
        no_handler::wait_or_fail(&inner, delivery).await;
        return;
    };
    // Over its limit, the task is handed back until the limiter says; the slot of a
    // concurrency limit is held until this function returns.
    let (delivery, _slot) =
        match limits::admit(&inner.limits, &inner.log, delivery, inner.options.lease).await {
            Some(admitted) => admitted,
            None => {
                inner.stats.record_deferred();
                return;
            }
        };
    // From the delivery to the handler's start (the start recorded); a child of the span
    // that sent the task (or of the run that scheduled this attempt).
    let mut consume = inner.client.tracer().start(
        "cogman.consume",
        SpanKind::Consumer,
        task.trace.as_ref(),
        &task,
    );
    consume.set("cogman.delivery_count", || {
        delivery.delivery_count().to_string()
    });
    let start = StateChange::new(task.id, TaskState::InProgress).worker(inner.id.clone());
    match inner.record_until_taken(&start, Write::Transient).await {
        None => {
            let _ = delivery.requeue().await;
            return;
        }
        Some(RecordOutcome::Stale { current }) if current.is_final() => {
            // Cancelled before it ran, or a duplicate delivery of a finished task.
            if current == TaskState::Success {
                inner.stats.record_duplicate();
            }
            // Cancelled while it waited: its chain ends here.
            settle::release_if_ended(&inner, &task, current, RecordOutcome::Unchanged).await;
            // A chord member whose outcome was recorded before a crash still resolves its chord.
            resolve_workflow_then_ack(&inner, &task, delivery).await;
            return;
        }
        Some(RecordOutcome::Unchanged) if delivery.delivery_count() <= 1 => {
            // Already started, yet this copy of the task was never delivered before: the task
            // was published twice (a publish retried after a lost confirm, a chord callback
            // sent by two members finishing together) and another worker runs (or ran) the
            // other copy. A delivery that comes back after a crash or a requeue counts 2 or
            // more, so a task whose run was cut short still runs again.
            inner.stats.record_duplicate();
            if let Err(error) = delivery.ack().await {
                tracing::warn!(task_id = %task.id, %error, "ack of a duplicate copy failed; it comes back and may run a second time");
            }
            return;
        }
        Some(RecordOutcome::Unchanged) => {
            // Started before and never finished: the run that started it was cut short (its
            // worker died, or lost the delivery). The state stays `in_progress`, so only a note
            // shows this second run in the history.
            inner.note(task.id, NoteKind::Rerun).await;
        }
        Some(RecordOutcome::Missing) => {
            // No record: a foreign producer's task, or one lost (expired or flushed). Write it
            // from the delivery.
            if inner.create_from(&task, &start).await.is_none() {
                let _ = delivery.requeue().await;
                return;
            }
        }
        Some(_) => {}
    }
    inner.stats.started();
    inner.metrics.started(&task);
    let consumed = consume.context();
    drop(consume);
    let mut run =
        inner
            .client
            .tracer()
            .start("cogman.run", SpanKind::Internal, consumed.as_ref(), &task);
    let mut ctx = TaskContext::for_task(&task, delivery.delivery_count(), CancellationToken::new());
    ctx.trace = run.context();
    let timeout = task.timeout().unwrap_or(inner.options.task_timeout);
    let began = Instant::now();
    let watch = execute::Watch {
        delivery: &delivery,
        log: &inner.log,
        lease: inner.options.lease,
        timeout,
        kill_grace: inner.options.kill_grace,
        hard_stop: &inner.hard_stop,
    };
    let attempt = execute::run(handler, ctx, task.payload.clone(), watch).await;
    let ran_for = began.elapsed();
    if let Some(failure) = attempt.failure() {
        run.fail(failure);
    }
    let ran = run.context();
    drop(run);
    settle::settle(&inner, delivery, attempt, ran_for, ran).await;
    inner.stats.finished();
}

/// Workflow hook for a task whose final state is already recorded: resolves the chord it is a
/// member of, then acks; when that fails, the task is put back so the check runs again.
async fn resolve_workflow_then_ack(
    inner: &WorkerInner,
    task: &cogman_core::Task,
    delivery: Delivery,
) {
    if let Err(error) = crate::workflow::after_final(&inner.client, task).await {
        tracing::warn!(task_id = %task.id, %error, "could not resolve the chord; the task will be delivered again");
        inner.stats.record_error();
        if let Err(error) = delivery.requeue().await {
            tracing::warn!(task_id = %task.id, %error, "could not put the task back; it returns after its lease");
        }
        return;
    }
    if let Err(error) = delivery.ack().await {
        tracing::warn!(task_id = %task.id, %error, "ack failed; the task will be delivered again (its outcome is recorded)");
    }
}

/// How a state change is written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Write {
    /// [`TaskLog::record`]: durable when answered (outcomes).
    Durable,
    /// [`TaskLog::record_transient`]: the start of a run, which is not an outcome.
    Transient,
}

/// Non-transient log errors tolerated for one state change before the task is given back.
const MAX_PERMANENT_FAILURES: u32 = 5;

impl WorkerInner {
    /// Records `change` of `task` as `write` says; when the log has no record of the task (a
    /// foreign producer's message, or a record lost), creates one from the delivered task with
    /// the change applied, so every delivery a worker settles has a record. `None` as
    /// [`WorkerInner::record_until_taken`].
    pub(crate) async fn record_or_create(
        &self,
        task: &Task,
        change: &StateChange,
        write: Write,
    ) -> Option<RecordOutcome> {
        match self.record_until_taken(change, write).await? {
            RecordOutcome::Missing => self.create_from(task, change).await,
            outcome => Some(outcome),
        }
    }

    /// Creates the record of a delivered `task` as `change` leaves it, retrying while the log
    /// is unreachable; `Some(Applied)` once written, `None` when the log keeps refusing it.
    async fn create_from(&self, task: &Task, change: &StateChange) -> Option<RecordOutcome> {
        let mut record = task.clone();
        record.status = change.state;
        record.updated_at = change.at;
        record.fail_error.clone_from(&change.error);
        record.result.clone_from(&change.result);
        record.duration = change.duration;
        let mut pause = Duration::from_millis(50);
        for _ in 0..MAX_PERMANENT_FAILURES {
            match self.log.create(&record).await {
                Ok(()) => return Some(RecordOutcome::Applied),
                Err(error) => {
                    self.stats.record_error();
                    tracing::warn!(task_id = %task.id, %error, "could not create the task's record from its delivery; retrying");
                }
            }
            tokio::select! {
                () = self.hard_stop.cancelled() => return None,
                () = tokio::time::sleep(pause) => pause = (pause * 2).min(Duration::from_secs(5)),
            }
        }
        None
    }

    /// Appends a history note about `task_id` by this worker. Best effort: the task's run
    /// does not depend on it, so a note the log cannot take is only logged.
    pub(crate) async fn note(&self, task_id: TaskId, kind: NoteKind) {
        let note = HistoryNote::new(task_id, kind, self.id.clone());
        if let Err(error) = self.log.note(&note).await {
            self.stats.record_error();
            tracing::warn!(%task_id, %kind, %error, "could not add a note to the task's history");
        }
    }

    /// Records `change` as `write` says, retrying while the log is unreachable, until it is
    /// taken or the worker is interrupted or the log keeps refusing it (then `None`: the
    /// caller puts the task back, unacked).
    async fn record_until_taken(
        &self,
        change: &StateChange,
        write: Write,
    ) -> Option<RecordOutcome> {
        let mut pause = Duration::from_millis(50);
        let mut permanent_failures = 0;
        loop {
            let written = match write {
                Write::Durable => self.log.record(change).await,
                Write::Transient => self.log.record_transient(change).await,
            };
            match written {
                Ok(outcome) => return Some(outcome),
                Err(error) => {
                    self.stats.record_error();
                    if !error.is_transient() {
                        permanent_failures += 1;
                        if permanent_failures >= MAX_PERMANENT_FAILURES {
                            tracing::error!(task_id = %change.task_id, %error, "cannot record a state change; giving the task back");
                            return None;
                        }
                    }
                    tracing::warn!(task_id = %change.task_id, %error, "cannot record a state change; retrying");
                }
            }
            tokio::select! {
                () = self.hard_stop.cancelled() => return None,
                () = tokio::time::sleep(pause) => pause = (pause * 2).min(Duration::from_secs(5)),
            }
        }
    }
}
