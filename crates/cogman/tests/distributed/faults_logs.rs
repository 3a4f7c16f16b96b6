//! Task-log faults during a run of 1,000 tasks: a private Redis killed (losing everything) and
//! started again, and a private PostgreSQL stopped with `-m immediate` and started again. No
//! accepted task is lost; reads fall back to PostgreSQL while Redis is down or empty; while
//! PostgreSQL is down workers keep retrying their records (holding their deliveries) and
//! carry on after the restart. A client and a worker also start while PostgreSQL is down
//! (sends are refused as unavailable until it is up, then everything works with no restart)
//! or while Redis is down (PostgreSQL carries the records; Redis gets them once it is up).
//! A private Redis that holds every write back (`CLIENT PAUSE .. WRITE`) or refuses writes
//! (out of memory) does not stop tasks from running, and its records catch up afterwards.

use std::time::Duration;

use cogman::{
    Client, PageRequest, Priority, TaskFilter, TaskId, TaskLog as _, TaskSpec, TaskState, Worker,
};
use cogman_postgres::{PostgresConfig, PostgresLog};
use cogman_redis::{RedisConfig, RedisLog};
use cogman_testkit::servers::{PrivatePostgres, PrivateRedis};
use cogman_testkit::{wait_for_state, wait_until};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::check::{accepted, no_loss, wait_all_success};
use crate::harness::{AMQP, Env, POSTGRES, REDIS, TASK, WAIT};
use crate::ledger::{GATED, Ledger};
use crate::sender::{Sender, Sent};

/// Tasks held in their handler while PostgreSQL stops.
const GATED_TASKS: usize = 4;

/// How long the private Redis holds every write back (`CLIENT PAUSE .. WRITE`).
const WRITE_PAUSE: Duration = Duration::from_secs(10);

/// Handler runs that must happen while Redis holds writes back or refuses them, within
/// [`FAULT_WINDOW`] of the fault's start.
const RUNS_DURING_FAULT: usize = 50;

/// How long after a Redis fault starts the runs above must have happened: short enough that
/// the write pause is still on afterwards (which the test checks), long enough for the first
/// held calls to time out (2 s) and the writes they delayed to PostgreSQL to clear.
const FAULT_WINDOW: Duration = Duration::from_secs(8);

/// How long a command to the private Redis may take when Redis does not hold it back.
const REDIS_ANSWER: Duration = Duration::from_secs(2);

/// How long a write to the private Redis is given before it counts as held back.
const HELD_WRITE: Duration = Duration::from_millis(300);

/// Checks every task in `ids` ran with no loss, then stops `worker` and `client`.
async fn no_loss_then_stop(ledger: &Ledger, ids: &[TaskId], worker: Worker, client: Client) {
    no_loss(ledger, ids, &[worker.stats()]);
    worker.stop().await;
    client.close().await;
}

/// The position of a send in its [`Sender`] run, from its key (`{label}-{i}`).
fn send_index(key: &str) -> usize {
    key.rsplit('-')
        .next()
        .and_then(|i| i.parse().ok())
        .unwrap_or_else(|| panic!("a sender key ends with its index: {key}"))
}

async fn private_redis() -> PrivateRedis {
    PrivateRedis::start()
        .await
        .unwrap_or_else(|e| panic!("a private Redis starts: {e}"))
}

async fn private_postgres() -> PrivatePostgres {
    PrivatePostgres::start()
        .await
        .unwrap_or_else(|e| panic!("a private PostgreSQL starts: {e}"))
}

/// The durable log of `env`, opened on its own.
async fn durable(env: &Env) -> PostgresLog {
    let uri = env.config.postgres.uri.clone().expect("a PostgreSQL log");
    PostgresLog::connect(PostgresConfig::new(uri).schema(env.config.postgres.schema.clone()))
        .await
        .expect("the durable log opens")
}

/// The hot log of `env`, opened on its own.
async fn hot(env: &Env) -> RedisLog {
    let uri = env.config.redis.uri.clone().expect("a Redis log");
    RedisLog::connect(RedisConfig::new(uri).namespace(env.config.redis.namespace.clone()))
        .await
        .expect("the hot log opens")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_mid_run_loses_nothing_and_reads_fall_back_to_postgres() {
    let redis = private_redis().await;
    let env = Env::new("redisrestart", AMQP, Some(&redis.uri()), Some(POSTGRES));
    let ledger = Ledger::default();
    let worker = env.worker(&ledger).await;
    let client = env.client().await;
    let sender = Sender::start(client.clone(), "rr", 1000);

    sender.allow(300);
    ledger
        .wait_for(200, "200 runs before Redis is killed")
        .await;
    let early = ledger.runs().into_keys().next().expect("a task ran");
    wait_for_state(client.log().as_ref(), early, TaskState::Success, WAIT)
        .await
        .expect("an early task succeeded");

    redis.stop().await;
    sender.allow(200);
    ledger.wait_for_more(100, "runs while Redis is down").await;
    let read = client
        .get(early)
        .await
        .expect("reads work while Redis is down")
        .expect("found in PostgreSQL");
    assert_eq!(read.status, TaskState::Success);

    redis
        .start_again()
        .await
        .expect("Redis starts again, empty");
    let read = client
        .get(early)
        .await
        .expect("reads work on an empty Redis")
        .expect("found in PostgreSQL");
    assert_eq!(read.status, TaskState::Success);
    sender.allow(500);
    ledger
        .wait_for_more(100, "runs after Redis restarted")
        .await;

    let sent = sender.finish().await;
    let ids = accepted(&sent, true);
    wait_all_success(&durable(&env).await, &ids).await;
    no_loss_then_stop(&ledger, &ids, worker, client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_restart_mid_run_loses_nothing_and_workers_wait_to_ack() {
    let postgres = private_postgres().await;
    let env = Env::new("pgrestart", AMQP, Some(REDIS), Some(&postgres.uri()));
    let ledger = Ledger::default();
    let worker = env.worker(&ledger).await;
    let client = env.client().await;
    let sender = Sender::start(client.clone(), "pr", 1000);

    sender.allow(300);
    ledger
        .wait_for(200, "200 runs before PostgreSQL stops")
        .await;
    // Tasks held in their handler across the stop: their `success` cannot be recorded until
    // PostgreSQL is back, so their deliveries must stay unacked (in flight) until then.
    let mut gated = Vec::new();
    for i in 0..GATED_TASKS {
        let spec = TaskSpec::new(TASK, Vec::new())
            .priority(Priority::High)
            .primary_key(format!("{GATED}{i}"));
        gated.push(client.send_task(spec).await.expect("accepted").id);
    }
    wait_until("the gated tasks to start", WAIT, || async {
        ledger.runs_with_prefix(GATED) == GATED_TASKS
    })
    .await
    .expect("gated tasks run");
    let errors = worker.stats().errors;
    postgres.stop().await.expect("pg_ctl stop -m immediate");
    sender.allow(200);
    ledger.open_gate();
    wait_until(
        "the worker to retry recording while PostgreSQL is down",
        WAIT,
        || async { worker.stats().errors > errors },
    )
    .await
    .expect("record retries");
    assert!(
        worker.stats().in_flight >= GATED_TASKS as u64,
        "tasks whose outcome is not durable are held, not settled: {:?}",
        worker.stats()
    );
    for id in &gated {
        let task = client.get(*id).await.expect("get").expect("recorded");
        assert_ne!(
            task.status,
            TaskState::Success,
            "no success is reported before PostgreSQL has it"
        );
    }

    postgres
        .start_again()
        .await
        .expect("PostgreSQL starts again");
    // On a loaded machine the server may take a while to accept writes again; the last 500
    // sends start once it does, so all of them are expected to be accepted.
    let probes = std::sync::Mutex::new(Vec::new());
    wait_until("PostgreSQL to accept sends again", WAIT, || async {
        let n = probes.lock().expect("invariant: not poisoned").len();
        let spec = TaskSpec::new(TASK, Vec::new()).primary_key(format!("probe-{n}"));
        match client.send_task(spec).await {
            Ok(receipt) => {
                probes
                    .lock()
                    .expect("invariant: not poisoned")
                    .push(receipt.id);
                true
            }
            Err(_) => false,
        }
    })
    .await
    .expect("sends are accepted once PostgreSQL is back");
    sender.allow(500);
    ledger
        .wait_for_more(100, "runs after PostgreSQL restarted")
        .await;

    let sent = sender.finish().await;
    let mut ids = accepted(&sent, false);
    ids.extend(&gated);
    ids.extend(probes.into_inner().expect("invariant: not poisoned"));
    // Sends made while PostgreSQL is down (the tail of the first phase too, on a loaded
    // machine) may be refused; the last 500 start once it accepts writes again.
    let late_refused: Vec<&Sent> = sent
        .iter()
        .filter(|s| send_index(&s.key) >= 500 && s.result.is_err())
        .collect();
    assert!(
        late_refused.is_empty(),
        "sends made once PostgreSQL accepts writes again are accepted: {late_refused:?}"
    );
    assert!(ids.len() >= 500 + GATED_TASKS, "accepted: {}", ids.len());
    // A send refused with a task-log error is indeterminate: its record may have committed
    // just before the connection died. Such a task is in the durable log and runs like any
    // other; a refused task with no record never runs.
    let durable = durable(&env).await;
    for refused in sent.iter().filter(|s| s.result.is_err()) {
        let filter = TaskFilter {
            primary_key: Some(refused.key.clone()),
            ..TaskFilter::default()
        };
        match durable
            .list(&filter, PageRequest::first(10))
            .await
            .expect("list")
            .items
            .as_slice()
        {
            [] => assert!(
                !ledger.ran_key(&refused.key),
                "a refused task with no record ran: {refused:?}"
            ),
            [recorded] => ids.push(recorded.id),
            many => panic!("one record per send: {many:?}"),
        }
    }
    wait_all_success(&durable, &ids).await;
    no_loss_then_stop(&ledger, &ids, worker, client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_and_worker_start_while_postgres_is_down_and_work_once_it_is_up() {
    let postgres = private_postgres().await;
    postgres.stop().await.expect("PostgreSQL stops");
    let env = Env::new("pgdownatstart", AMQP, None, Some(&postgres.uri()));
    let ledger = Ledger::default();
    let worker = env.worker(&ledger).await;
    let client = env.client().await;

    let refused = client
        .send_task(TaskSpec::new(TASK, b"early".to_vec()))
        .await;
    assert!(
        matches!(&refused, Err(cogman::Error::TaskLog(e)) if e.is_transient()),
        "with no durable log a send is refused as unavailable, not accepted: {refused:?}"
    );

    postgres
        .start_again()
        .await
        .expect("PostgreSQL starts again");
    // The first send accepted once the log has connected and migrated by itself.
    let first = std::sync::Mutex::new(None);
    wait_until(
        "a send to be accepted once PostgreSQL is up",
        WAIT,
        || async {
            let sent = client
                .send_task(TaskSpec::new(TASK, b"first".to_vec()))
                .await;
            let accepted = sent.ok().map(|receipt| receipt.id);
            let done = accepted.is_some();
            *first.lock().expect("not poisoned") = accepted;
            done
        },
    )
    .await
    .expect("sends are accepted");
    let mut ids: Vec<_> = first
        .lock()
        .expect("not poisoned")
        .take()
        .into_iter()
        .collect();
    for i in 0..20 {
        let spec = TaskSpec::new(TASK, format!("late-{i}").into_bytes());
        ids.push(client.send_task(spec).await.expect("send").id);
    }
    wait_all_success(&durable(&env).await, &ids).await;
    no_loss_then_stop(&ledger, &ids, worker, client).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_and_worker_start_while_redis_is_down_and_use_it_once_it_is_up() {
    let redis = private_redis().await;
    redis.stop().await;
    let env = Env::new("redisdownatstart", AMQP, Some(&redis.uri()), Some(POSTGRES));
    let ledger = Ledger::default();
    let worker = env.worker(&ledger).await;
    let client = env.client().await;

    // PostgreSQL holds every record while Redis is down: sends are accepted and run.
    let mut ids = Vec::new();
    for i in 0..10 {
        let spec = TaskSpec::new(TASK, format!("early-{i}").into_bytes());
        ids.push(client.send_task(spec).await.expect("send").id);
    }
    wait_all_success(&durable(&env).await, &ids).await;

    redis.start_again().await.expect("Redis starts again");
    let late = client
        .send_task(TaskSpec::new(TASK, b"late".to_vec()))
        .await
        .expect("send")
        .id;
    ids.push(late);
    wait_all_success(&durable(&env).await, &ids).await;
    wait_for_state(&hot(&env).await, late, TaskState::Success, WAIT)
        .await
        .expect("records reach Redis once it is up");
    no_loss_then_stop(&ledger, &ids, worker, client).await;
}

/// Sends one command to the Redis on `port` over a connection of its own and returns its
/// one-line reply (`+OK`, `-OOM ...`), or `None` when none comes within `within`.
async fn redis_command(port: u16, args: &[&str], within: Duration) -> Option<String> {
    let request: String = std::iter::once(format!("*{}\r\n", args.len()))
        .chain(
            args.iter()
                .map(|arg| format!("${}\r\n{arg}\r\n", arg.len())),
        )
        .collect();
    let exchange = async {
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("the private Redis accepts a connection");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("the command is sent");
        let mut reply = String::new();
        BufReader::new(stream)
            .read_line(&mut reply)
            .await
            .expect("a reply is read");
        reply.trim_end().to_owned()
    };
    tokio::time::timeout(within, exchange).await.ok()
}

/// Waits until `more` runs happened after this call, by `deadline` at the latest: execution
/// is not blocked while `fault`.
async fn runs_before(ledger: &Ledger, more: usize, deadline: Instant, fault: &str) {
    let target = ledger.len() + more;
    let within = deadline.saturating_duration_since(Instant::now());
    wait_until(&format!("{more} runs while {fault}"), within, || async {
        ledger.len() >= target
    })
    .await
    .unwrap_or_else(|e| {
        panic!(
            "{e}: execution is blocked ({} of {target} runs)",
            ledger.len()
        )
    });
}

/// Waits until every task of `ids` is `success` in PostgreSQL, as the client reads it (Redis
/// first), and in Redis itself.
async fn success_everywhere(env: &Env, client: &Client, ids: &[TaskId]) {
    wait_all_success(&durable(env).await, ids).await;
    wait_all_success(client.log().as_ref(), ids).await;
    wait_all_success(&hot(env).await, ids).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_stalled_or_out_of_memory_does_not_block_execution_and_catches_up() {
    let redis = private_redis().await;
    let port = redis.port();
    let env = Env::new("redisstall", AMQP, Some(&redis.uri()), Some(POSTGRES));
    let ledger = Ledger::default();
    let worker = env.worker(&ledger).await;
    let client = env.client().await;

    // Writes held back: a Redis call waits until the tiered log gives up on it.
    let stalled = Sender::start(client.clone(), "stall", 400);
    stalled.allow(150);
    ledger.wait_for(100, "100 runs before Redis stalls").await;
    let paused_at = Instant::now();
    let pause = WRITE_PAUSE.as_millis().to_string();
    assert_eq!(
        redis_command(port, &["CLIENT", "PAUSE", &pause, "WRITE"], REDIS_ANSWER)
            .await
            .as_deref(),
        Some("+OK")
    );
    stalled.allow(250);
    runs_before(
        &ledger,
        RUNS_DURING_FAULT,
        paused_at + FAULT_WINDOW,
        "Redis holds writes back",
    )
    .await;
    assert_eq!(
        redis_command(port, &["SET", "probe", "held"], HELD_WRITE).await,
        None,
        "those runs happened while Redis still held writes back"
    );
    wait_until("Redis to take writes again", WAIT, || async {
        redis_command(port, &["SET", "probe", "taken"], HELD_WRITE)
            .await
            .is_some()
    })
    .await
    .expect("the write pause ends");
    let mut ids = accepted(&stalled.finish().await, true);
    success_everywhere(&env, &client, &ids).await;

    // Writes refused: Redis is out of memory.
    let refused = Sender::start(client.clone(), "oom", 300);
    refused.allow(100);
    ledger
        .wait_for_more(50, "runs before Redis runs out of memory")
        .await;
    for (setting, value) in [("maxmemory-policy", "noeviction"), ("maxmemory", "1mb")] {
        assert_eq!(
            redis_command(port, &["CONFIG", "SET", setting, value], REDIS_ANSWER)
                .await
                .as_deref(),
            Some("+OK"),
            "CONFIG SET {setting} {value}"
        );
    }
    let out_of_memory = || async {
        redis_command(port, &["SET", "probe", "refused"], REDIS_ANSWER)
            .await
            .is_some_and(|reply| reply.starts_with("-OOM"))
    };
    assert!(out_of_memory().await, "Redis refuses writes");
    refused.allow(200);
    runs_before(
        &ledger,
        RUNS_DURING_FAULT,
        Instant::now() + FAULT_WINDOW,
        "Redis refuses writes",
    )
    .await;
    assert!(out_of_memory().await, "Redis still refuses writes");
    assert_eq!(
        redis_command(port, &["CONFIG", "SET", "maxmemory", "0"], REDIS_ANSWER)
            .await
            .as_deref(),
        Some("+OK")
    );
    let late = accepted(&refused.finish().await, true);
    success_everywhere(&env, &client, &late).await;

    ids.extend(late);
    no_loss_then_stop(&ledger, &ids, worker, client).await;
}
