//! Promises a user relies on without thinking, checked in the embedded mode (one SQLite file)
//! and over RabbitMQ: a worker never runs more than its concurrency at once and fills it; the
//! drain half of a graceful stop records and acks a task that ends within the grace period;
//! low-priority queues are lazy and high ones default; a cancelled delayed task is not
//! counted as scheduled; `Client::close` closes a broker it owns, and only that one.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cogman::backends::Backends;
use cogman::{Client, Config, Priority, SendStatus, TaskError, TaskSpec, TaskState, Worker};
use cogman::{config, handler_fn};
use cogman_amqp::{AmqpConfig, Topology};
use cogman_testkit::{wait_for_state, wait_until};
use lapin::options::QueueDeclareOptions;
use lapin::types::{AMQPValue, FieldTable, LongString};

use crate::harness::{AMQP, Env, POSTGRES, REDIS, WAIT};

/// The modes each promise is checked in.
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// One SQLite file: queue and log.
    Embedded,
    /// RabbitMQ with the SQLite log.
    RabbitMq,
}

/// An isolated environment in `mode`.
fn env(label: &str, mode: Mode) -> Env {
    let mut env = Env::new(label, AMQP, None, None);
    if let Mode::Embedded = mode {
        env.config.amqp = config::AmqpConfig::default();
    }
    env
}

/// A worker of its own on `config`, with `name`'s handler, started.
async fn worker(config: &Config, name: &str, handler: impl cogman::Handler) -> Worker {
    let worker = Worker::connect(config)
        .await
        .unwrap_or_else(|e| panic!("worker connects: {e} ({e:?})"));
    worker.register(name, handler).expect("register");
    worker.start().await.expect("worker starts");
    worker
}

/// Handlers running now, the most seen at once, and runs finished.
#[derive(Debug, Default)]
struct Gauge {
    running: AtomicU32,
    max: AtomicU32,
    done: AtomicU32,
}

async fn concurrency_is_bound_and_used(mode: Mode) {
    const CONCURRENCY: u32 = 3;
    const TASKS: u32 = 50;
    let mut env = env("conc", mode);
    env.config.concurrency = CONCURRENCY;
    let client = env.client().await;
    // Every task waits in the queue before the worker starts, so it can fill its slots.
    for i in 0..TASKS {
        client
            .send_task(TaskSpec::new("promise.sleep", i.to_string().into_bytes()))
            .await
            .expect("send");
    }
    let gauge = Arc::new(Gauge::default());
    let seen = Arc::clone(&gauge);
    let handler = handler_fn(move |_ctx, _payload: Vec<u8>| {
        let gauge = Arc::clone(&seen);
        async move {
            let now = gauge.running.fetch_add(1, Ordering::SeqCst) + 1;
            gauge.max.fetch_max(now, Ordering::SeqCst);
            // The work of the task (not a wait of the test).
            tokio::time::sleep(Duration::from_millis(40)).await;
            gauge.running.fetch_sub(1, Ordering::SeqCst);
            gauge.done.fetch_add(1, Ordering::SeqCst);
            Ok::<_, TaskError>(())
        }
    });
    let worker = worker(&env.config, "promise.sleep", handler).await;
    wait_until("every task to run", WAIT, || async {
        gauge.done.load(Ordering::SeqCst) == TASKS
    })
    .await
    .unwrap_or_else(|e| panic!("{e}: {gauge:?}"));
    worker.stop().await;
    client.close().await;
    assert_eq!(
        gauge.max.load(Ordering::SeqCst),
        CONCURRENCY,
        "never more than the concurrency at once, and all of it used ({mode:?})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_runs_exactly_its_concurrency_at_once_embedded() {
    concurrency_is_bound_and_used(Mode::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_runs_exactly_its_concurrency_at_once_over_rabbitmq() {
    concurrency_is_bound_and_used(Mode::RabbitMq).await;
}

/// Ready, scheduled and in-flight messages in the work queues, as the broker reports them.
async fn queued(client: &Client) -> (u64, u64, u64) {
    let queues = client
        .inspector()
        .queues()
        .await
        .expect("queue stats")
        .expect("the broker reports queue stats");
    queues
        .iter()
        .filter(|q| q.priority.is_some())
        .fold((0, 0, 0), |(r, s, f), q| {
            (r + q.ready, s + q.scheduled, f + q.in_flight)
        })
}

async fn graceful_stop_drains(mode: Mode) {
    const TASK_LENGTH: Duration = Duration::from_millis(1500);
    let mut env = env("drain", mode);
    env.config.concurrency = 1;
    env.config.shutdown_grace = Duration::from_secs(20);
    let runs = Arc::new(AtomicU32::new(0));
    let ended = Arc::new(AtomicU32::new(0));
    let handler = || {
        let (runs, ended) = (Arc::clone(&runs), Arc::clone(&ended));
        handler_fn(move |ctx: cogman::TaskContext, _payload: Vec<u8>| {
            runs.fetch_add(1, Ordering::SeqCst);
            let ended = Arc::clone(&ended);
            async move {
                tokio::select! {
                    () = tokio::time::sleep(TASK_LENGTH) => {}
                    () = ctx.cancelled() => return Err(TaskError::fail("interrupted")),
                }
                ended.fetch_add(1, Ordering::SeqCst);
                Ok::<_, TaskError>(())
            }
        })
    };
    let first = worker(&env.config, "promise.slow", handler()).await;
    let client = env.client().await;
    let id = client
        .send_task(TaskSpec::new("promise.slow", b"x".to_vec()))
        .await
        .expect("send")
        .id;
    wait_for_state(client.log().as_ref(), id, TaskState::InProgress, WAIT)
        .await
        .expect("the task starts");
    let stopping = Instant::now();
    first.stop().await; // the task ends well within the grace period
    let took = stopping.elapsed();
    assert!(
        took < env.config.shutdown_grace,
        "stop waited for the task, not for the grace period: {took:?}"
    );
    assert_eq!(
        ended.load(Ordering::SeqCst),
        1,
        "the handler ran to its end"
    );
    let task = client.get(id).await.expect("get").expect("recorded");
    assert_eq!(
        task.status,
        TaskState::Success,
        "recorded before stop returned: {task:?}"
    );
    // Acked, not put back: the stopped worker's connections are closed, so an unacked
    // delivery would be ready again.
    assert_eq!(
        queued(&client).await,
        (0, 0, 0),
        "nothing left in the queues"
    );
    // A second worker gets the next task and never the drained one.
    let second = worker(&env.config, "promise.slow", handler()).await;
    let marker = client
        .send_task(TaskSpec::new("promise.slow", b"marker".to_vec()))
        .await
        .expect("send")
        .id;
    wait_for_state(client.log().as_ref(), marker, TaskState::Success, WAIT)
        .await
        .expect("the marker runs");
    second.stop().await;
    client.close().await;
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "the drained task ran once, the marker once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_records_and_acks_a_task_that_ends_within_the_grace_embedded() {
    graceful_stop_drains(Mode::Embedded).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_records_and_acks_a_task_that_ends_within_the_grace_over_rabbitmq() {
    graceful_stop_drains(Mode::RabbitMq).await;
}

/// The `x-queue-mode` argument.
fn mode_argument(mode: &str) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-mode".into(),
        AMQPValue::LongString(LongString::from(mode)),
    );
    args
}

/// Declares `queue` durable with `x-queue-mode: mode` on a fresh channel: RabbitMQ answers
/// 406 PRECONDITION_FAILED when the queue exists with another mode.
async fn redeclare(connection: &lapin::Connection, queue: &str, mode: &str) -> lapin::Result<()> {
    let channel = connection.create_channel().await?;
    channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions::durable(),
            mode_argument(mode),
        )
        .await
        .map(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn low_priority_queues_are_lazy_and_high_ones_default() {
    let mut env = env("lazy", Mode::RabbitMq);
    env.config.amqp.high_priority_queue_count = 2;
    env.config.amqp.low_priority_queue_count = 3;
    let worker = worker(
        &env.config,
        "promise.noop",
        handler_fn(|_ctx, _p: Vec<u8>| async { Ok::<_, TaskError>(()) }),
    )
    .await;
    let mut amqp = AmqpConfig::new(AMQP);
    amqp.queue_prefix.clone_from(&env.config.amqp.queue_prefix);
    amqp.high_queue_count = 2;
    amqp.low_queue_count = 3;
    let topology = Topology::new(&amqp).expect("topology");
    let connection = lapin::Connection::connect(AMQP, lapin::ConnectionProperties::default())
        .await
        .expect("connect");
    let mut seen = (0, 0);
    for (priority, queue) in topology.work_queues() {
        let (mode, other) = match priority {
            Priority::High => {
                seen.0 += 1;
                ("default", "lazy")
            }
            Priority::Low => {
                seen.1 += 1;
                ("lazy", "default")
            }
        };
        redeclare(&connection, queue.as_str(), mode)
            .await
            .unwrap_or_else(|e| panic!("{queue} is declared with x-queue-mode {mode}: {e}"));
        let refused = redeclare(&connection, queue.as_str(), other).await;
        let error = refused.expect_err("another mode is refused");
        assert!(
            error.to_string().contains("PRECONDITION_FAILED"),
            "{queue} with x-queue-mode {other}: {error}"
        );
    }
    assert_eq!(seen, (2, 3), "every configured queue was checked");
    let _ = connection.close(200, "done".into()).await;
    worker.stop().await;
}

/// The broker's scheduled count and the log's, for the whole log.
async fn scheduled(client: &Client) -> (u64, u64) {
    let broker: u64 = client
        .inspector()
        .queues()
        .await
        .expect("queue stats")
        .expect("the broker reports queue stats")
        .iter()
        .map(|q| q.scheduled)
        .sum();
    let log = client
        .inspector()
        .totals()
        .await
        .expect("totals")
        .get(TaskState::Scheduled);
    (broker, log)
}

async fn a_cancelled_delayed_task_is_not_scheduled(env: Env) {
    let client = env.client().await;
    let later = TaskSpec::new("promise.later", b"x".to_vec()).delay(Duration::from_secs(3600));
    let kept = client.send_task(later.clone()).await.expect("send");
    let cancelled = client.send_task(later).await.expect("send");
    assert_eq!(cancelled.status, SendStatus::Scheduled);
    wait_until("both delayed tasks to be counted", WAIT, || async {
        scheduled(&client).await == (2, 2)
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    client.cancel(cancelled.id).await.expect("cancel");
    assert_eq!(
        scheduled(&client).await,
        (1, 1),
        "the queues count only the task the log has scheduled"
    );
    let totals = client.inspector().totals().await.expect("totals");
    assert_eq!(totals.get(TaskState::Cancelled), 1);
    client.cancel(kept.id).await.expect("cancel");
    assert_eq!(scheduled(&client).await, (0, 0));
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_delayed_task_is_not_counted_as_scheduled_embedded() {
    a_cancelled_delayed_task_is_not_scheduled(env("cnt", Mode::Embedded)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_delayed_task_is_not_counted_as_scheduled_over_rabbitmq_and_sqlite() {
    a_cancelled_delayed_task_is_not_scheduled(env("cnt", Mode::RabbitMq)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_delayed_task_is_not_counted_as_scheduled_over_rabbitmq_and_redis() {
    a_cancelled_delayed_task_is_not_scheduled(Env::new("cnt", AMQP, Some(REDIS), None)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_delayed_task_is_not_counted_as_scheduled_over_rabbitmq_and_postgres() {
    a_cancelled_delayed_task_is_not_scheduled(Env::new("cnt", AMQP, None, Some(POSTGRES))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_delayed_task_is_not_counted_as_scheduled_over_rabbitmq_redis_and_postgres() {
    a_cancelled_delayed_task_is_not_scheduled(Env::new("cnt", AMQP, Some(REDIS), Some(POSTGRES)))
        .await;
}

/// Everything written by `tracing` in this process, for tests that read the log output.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Captures every event at `debug` and above, process-wide (each test of nextest runs in a
    /// process of its own).
    fn install() -> Captured {
        let captured = Captured::default();
        let writer = captured.clone();
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .try_init()
            .expect("no other subscriber in this process");
        captured
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(
            &self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_owned()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_close_closes_a_broker_it_owns_in_order() {
    let captured = Captured::install();
    tracing::info!("capture check");
    let env = env("close", Mode::RabbitMq);
    // A library program: connect, send, close — twenty times.
    for i in 0..20u32 {
        let client = Client::connect(&env.config).await.expect("connect");
        let receipt = client
            .send_task(TaskSpec::new("promise.close", i.to_string().into_bytes()))
            .await
            .expect("send");
        assert_eq!(receipt.status, SendStatus::Queued);
        client.close().await;
        // Closed: the broker takes nothing more.
        let late = cogman::Task::from_spec(
            TaskSpec::new("promise.close", Vec::new()),
            chrono::Utc::now(),
        );
        let after = tokio::time::timeout(WAIT, client.broker().publish(&late)).await;
        assert!(
            matches!(after, Ok(Err(cogman::BrokerError::Closed))),
            "the owned broker is closed: {after:?}"
        );
    }
    let text = captured.text();
    assert!(text.contains("capture check"), "the capture works");
    assert!(
        !text.contains("invalid channel state"),
        "a channel was closed twice: {text}"
    );

    // A client over backends it was given leaves the broker to their owner.
    let backends = Backends::open(&env.config).await.expect("open");
    let lent = backends.client(&env.config);
    lent.close().await;
    let other = backends.client(&env.config);
    let receipt = other
        .send_task(TaskSpec::new("promise.close", b"after".to_vec()))
        .await
        .expect("send");
    assert_eq!(
        receipt.status,
        SendStatus::Queued,
        "the broker is still open"
    );
    other.close().await;
    backends.broker.close().await.expect("close the broker");
}
