//! Task-log faults during a run of 1,000 tasks: a private Redis killed (losing everything) and
//! started again, and a private PostgreSQL stopped with `-m immediate` and started again. No
//! accepted task is lost; reads fall back to PostgreSQL while Redis is down or empty; while
//! PostgreSQL is down workers keep retrying their records (holding their deliveries) and
//! carry on after the restart. A client and a worker also start while PostgreSQL is down
//! (sends are refused as unavailable until it is up, then everything works with no restart)
//! or while Redis is down (PostgreSQL carries the records; Redis gets them once it is up).

use cogman::{
    Client, PageRequest, Priority, TaskFilter, TaskId, TaskLog as _, TaskSpec, TaskState, Worker,
};
use cogman_postgres::{PostgresConfig, PostgresLog};
use cogman_testkit::servers::{PrivatePostgres, PrivateRedis};
use cogman_testkit::{wait_for_state, wait_until};

use crate::check::{accepted, no_loss, wait_all_success};
use crate::harness::{AMQP, Env, POSTGRES, REDIS, TASK, WAIT};
use crate::ledger::{GATED, Ledger};
use crate::sender::Sender;

/// Tasks held in their handler while PostgreSQL stops.
const GATED_TASKS: usize = 4;

/// Checks every task in `ids` ran with no loss, then stops `worker` and `client`.
async fn no_loss_then_stop(ledger: &Ledger, ids: &[TaskId], worker: Worker, client: Client) {
    no_loss(ledger, ids, &[worker.stats()]);
    worker.stop().await;
    client.close().await;
}

/// The durable log of `env`, opened on its own.
async fn durable(env: &Env) -> PostgresLog {
    let uri = env.config.postgres_uri.clone().expect("a PostgreSQL log");
    PostgresLog::connect(PostgresConfig::new(uri).schema(env.config.postgres_schema.clone()))
        .await
        .expect("the durable log opens")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_mid_run_loses_nothing_and_reads_fall_back_to_postgres() {
    let redis = PrivateRedis::start()
        .await
        .unwrap_or_else(|e| panic!("a private Redis starts: {e}"));
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
    let postgres = PrivatePostgres::start()
        .await
        .unwrap_or_else(|e| panic!("a private PostgreSQL starts: {e}"));
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
    sender.allow(500);
    ledger
        .wait_for_more(100, "runs after PostgreSQL restarted")
        .await;

    let sent = sender.finish().await;
    let mut ids = accepted(&sent, false);
    ids.extend(&gated);
    assert!(ids.len() >= 800, "most sends are accepted: {}", ids.len());
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
    let postgres = PrivatePostgres::start()
        .await
        .unwrap_or_else(|e| panic!("a private PostgreSQL starts: {e}"));
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
    let redis = PrivateRedis::start()
        .await
        .unwrap_or_else(|e| panic!("a private Redis starts: {e}"));
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
    let hot = env.config.redis_uri.clone().expect("a Redis log");
    let hot = cogman_redis::RedisLog::connect(
        cogman_redis::RedisConfig::new(hot).namespace(env.config.redis_namespace.clone()),
    )
    .await
    .expect("Redis answers");
    wait_for_state(&hot, late, TaskState::Success, WAIT)
        .await
        .expect("records reach Redis once it is up");
    no_loss_then_stop(&ledger, &ids, worker, client).await;
}
