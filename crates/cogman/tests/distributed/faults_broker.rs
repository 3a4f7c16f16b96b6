//! RabbitMQ faults on a private node (never the shared broker): `stop_app`/`start_app` and
//! `close_all_connections` while a client sends and a worker consumes; a hung node
//! (`kill -STOP` beyond twice the heartbeat, then `-CONT`); a broker down while a
//! client with a durable log accepts tasks (outbox, re-enqueue); two clients recovering the
//! same outbox; and a client without a durable log (bounded memory buffer).

use std::collections::HashSet;
use std::time::Duration;

use cogman::{BrokerError, Error, PageRequest, SendStatus, TaskFilter, TaskSpec, TaskState};
use cogman_testkit::servers::PrivateRabbit;
use cogman_testkit::wait_until;
use futures::future::join_all;
use tokio::time::Instant;

use crate::check::{accepted, exactly_once, no_loss, wait_all_success};
use crate::harness::{Env, POSTGRES, REDIS, TASK, Timeline, WAIT};
use crate::ledger::Ledger;
use crate::sender::Sender;

async fn private_node() -> PrivateRabbit {
    PrivateRabbit::start()
        .await
        .unwrap_or_else(|e| panic!("a private RabbitMQ node boots: {e}"))
}

/// Sends 50 tasks (each with `retry` retries) while the broker is down; every send must be
/// accepted as `initiated` (durable in the outbox). Returns their ids.
async fn send_while_down(client: &cogman::Client, retry: u32) -> Vec<cogman::TaskId> {
    let sends = (0..50).map(|i| client.send_task(TaskSpec::new(TASK, vec![i]).retry(retry)));
    let receipts: Vec<_> = join_all(sends)
        .await
        .into_iter()
        .map(|r| r.expect("accepted while down"))
        .collect();
    assert!(
        receipts.iter().all(|r| r.status == SendStatus::Initiated),
        "{receipts:?}"
    );
    receipts.iter().map(|r| r.id).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_restarts_and_cut_connections_lose_no_accepted_task() {
    let timeline = Timeline::start();
    let node = private_node().await;
    timeline.mark("private node booted");
    let env = Env::new("brokerfaults", &node.uri(), None, Some(POSTGRES));
    let ledger = Ledger::default();
    let worker = env.worker(&ledger).await;
    let client = env.client().await;
    let sender = Sender::start(client.clone(), "bf", 500);

    sender.allow(150);
    ledger.wait_for(100, "100 runs before stop_app").await;
    timeline.mark("100 runs; stop_app");
    node.stop_app().await.expect("stop_app");
    // Sent while the broker is down: accepted into the durable log's outbox.
    sender.allow(50);
    sender
        .wait_completed(200, "the sends made while the broker is down")
        .await;
    timeline.mark("sends done while down; start_app");
    node.start_app().await.expect("start_app");
    sender.allow(100);
    ledger.wait_for_more(50, "runs after start_app").await;
    sender.allow(100);
    timeline.mark("runs after start_app; close_all_connections");
    node.close_all_connections()
        .await
        .expect("close_all_connections");
    sender.allow(100);
    ledger
        .wait_for_more(50, "runs after the connections were cut")
        .await;

    timeline.mark("runs after the cut; finishing the sends");
    let sent = sender.finish().await;
    let ids = accepted(&sent, true);
    assert_eq!(ids.len(), 500);
    let initiated = sent
        .iter()
        .filter(|s| matches!(&s.result, Ok(r) if r.status == SendStatus::Initiated))
        .count();
    assert!(
        initiated >= 50,
        "the sends made while the broker was down went to the outbox: {initiated}"
    );
    timeline.mark("sends finished; waiting for every success");
    wait_all_success(client.log().as_ref(), &ids).await;
    let extra = no_loss(&ledger, &ids, &[worker.stats()]);
    eprintln!(
        "500 accepted ({initiated} through the outbox), {} runs, {extra} duplicate runs (counted)",
        ledger.len()
    );
    worker.stop().await;
    timeline.mark("worker stopped");
    client.close().await;
    timeline.mark("client closed");
}

/// AMQP heartbeat of the hung-broker test: a silent peer is dead after twice this.
const HEARTBEAT: Duration = Duration::from_secs(2);

/// Local ports of the established TCP connections to 127.0.0.1:`port`, from the kernel's table:
/// the client ends of this test's AMQP connections (nothing else talks AMQP to its private
/// node). The kernel keeps answering TCP for a stopped process, so only cogman closing its
/// own end shows it noticed the node hung.
fn established_to(port: u16) -> HashSet<u16> {
    /// `st` of an established socket in `/proc/net/tcp`.
    const ESTABLISHED: &str = "01";
    let port_of = |address: &str| {
        address
            .rsplit_once(':')
            .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok())
    };
    let table = std::fs::read_to_string("/proc/net/tcp").expect("the kernel's TCP table");
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split_whitespace().skip(1);
            let (local, remote, state) = (fields.next()?, fields.next()?, fields.next()?);
            (state == ESTABLISHED && port_of(remote) == Some(port))
                .then(|| port_of(local))
                .flatten()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_broker_is_noticed_by_heartbeats_and_loses_no_accepted_task() {
    let node = private_node().await;
    let uri = format!("{}?heartbeat={}", node.uri(), HEARTBEAT.as_secs());
    let env = Env::new("hungbroker", &uri, None, Some(POSTGRES));
    let ledger = Ledger::default();
    let worker = env.worker(&ledger).await;
    let client = env.client().await;
    let sender = Sender::start(client.clone(), "hung", 300);

    sender.allow(100);
    ledger.wait_for(50, "50 runs before the freeze").await;
    let before = established_to(node.port());
    assert!(
        before.len() >= 2,
        "client and worker hold connections to the node: {before:?}"
    );
    let frozen = node.freeze().await.expect("kill -STOP the node");
    let frozen_at = Instant::now();
    // Sent while the node hangs: each ends by its timeouts (accepted into the outbox or refused).
    sender.allow(50);

    // Only the missing heartbeats tell the worker's consuming connection that the node hangs.
    wait_until(
        "client and worker to drop every connection to the hung node",
        WAIT,
        || async { established_to(node.port()).is_disjoint(&before) },
    )
    .await
    .unwrap_or_else(|e| {
        let left: Vec<_> = established_to(node.port())
            .intersection(&before)
            .copied()
            .collect();
        panic!("{e}: still established from ports {left:?}")
    });
    let noticed = frozen_at.elapsed();
    assert!(
        noticed <= 4 * HEARTBEAT,
        "the hung node was noticed after {noticed:?}, heartbeat {HEARTBEAT:?}"
    );
    sender
        .wait_completed(150, "the sends made while the node hangs")
        .await;
    // The fault lasts beyond twice the heartbeat whatever noticed it first.
    tokio::time::sleep_until(frozen_at + 3 * HEARTBEAT).await;
    frozen.thaw().await.expect("kill -CONT the node");
    let thawed_at = Instant::now();
    let hung_for = thawed_at - frozen_at;

    sender.allow(150);
    ledger
        .wait_for_more(50, "runs after the node answers again")
        .await;
    let resumed = thawed_at.elapsed();
    let sent = sender.finish().await;
    let ids = accepted(&sent, false);
    let refused = sent.len() - ids.len();
    let before_freeze = |key: &str| {
        key.strip_prefix("hung-")
            .and_then(|i| i.parse::<usize>().ok())
            .is_some_and(|i| i < 100)
    };
    assert!(
        sent.iter()
            .filter(|s| before_freeze(&s.key))
            .all(|s| s.result.is_ok()),
        "the sends before the freeze were accepted"
    );
    wait_all_success(client.log().as_ref(), &ids).await;
    worker.stop().await;
    let stats = worker.stats();
    let extra = no_loss(&ledger, &ids, &[stats]);
    assert_eq!(
        stats.succeeded - stats.duplicates,
        ids.len() as u64,
        "one success recorded per accepted task: {stats:?}"
    );
    let initiated = sent
        .iter()
        .filter(|s| matches!(&s.result, Ok(r) if r.status == SendStatus::Initiated))
        .count();
    eprintln!(
        "node hung for {hung_for:?}, noticed after {noticed:?}; runs resumed {resumed:?} after the thaw; \
         {} accepted ({initiated} through the outbox), {refused} refused, {} runs, \
         {extra} duplicate runs (counted)",
        ids.len(),
        ledger.len()
    );
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tasks_accepted_while_the_broker_is_down_run_once_when_it_returns() {
    let node = private_node().await;
    let env = Env::new("outbox", &node.uri(), Some(REDIS), Some(POSTGRES));
    let ledger = Ledger::default();
    let worker = env.worker(&ledger).await;
    let client = env.client().await;
    node.stop_app().await.expect("stop_app");

    let ids = send_while_down(&client, 3).await;
    for id in &ids {
        let task = client
            .get(*id)
            .await
            .expect("get")
            .expect("recorded durably");
        assert_eq!(task.status, TaskState::Initiated);
    }
    assert_eq!(ledger.len(), 0, "nothing runs while the broker is down");

    node.start_app().await.expect("start_app");
    wait_all_success(client.log().as_ref(), &ids).await;
    exactly_once(&ledger, &ids);
    for id in &ids {
        let task = client.get(*id).await.expect("get").expect("recorded");
        assert_eq!(
            (task.retry, task.attempt),
            (3, 0),
            "re-enqueued unchanged: {task:?}"
        );
    }
    worker.stop().await;
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_clients_recovering_the_same_outbox_publish_each_task_once() {
    let node = private_node().await;
    let env = Env::new("twoclients", &node.uri(), None, Some(POSTGRES));
    let first = env.client().await;
    node.stop_app().await.expect("stop_app");
    let ids = send_while_down(&first, 0).await;
    first.close().await;
    drop(first);

    // Two clients restarted during the outage (they start while RabbitMQ is down), then the
    // broker returns: both relays see the same 50 initiated tasks at once.
    let (a, b) = tokio::join!(env.client(), env.client());
    let ledger = Ledger::default();
    let worker = env.worker(&ledger).await;
    node.start_app().await.expect("start_app");
    wait_all_success(a.log().as_ref(), &ids).await;
    exactly_once(&ledger, &ids);
    assert_eq!(worker.stats().duplicates, 0, "no task was delivered twice");
    worker.stop().await;
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_durable_log_sends_are_buffered_up_to_the_bound() {
    let node = private_node().await;
    node.stop_app().await.expect("stop_app");
    let mut env = Env::new("buffer", &node.uri(), Some(REDIS), None);
    env.config.send_buffer = 5;
    // Client and worker start while RabbitMQ is down.
    let client = env.client().await;
    let ledger = Ledger::default();
    let worker = env.worker(&ledger).await;

    let sends = (0..5).map(|i| client.send_task(TaskSpec::new(TASK, vec![i])));
    let receipts: Vec<_> = join_all(sends)
        .await
        .into_iter()
        .map(|r| r.expect("buffered while down"))
        .collect();
    assert!(
        receipts.iter().all(|r| r.status == SendStatus::Buffered),
        "{receipts:?}"
    );
    assert_eq!(client.buffered(), 5);
    let refused = client
        .send_task(TaskSpec::new(TASK, b"one too many".to_vec()).primary_key("overflow"))
        .await
        .expect_err("the buffer is full");
    assert!(
        matches!(
            refused,
            Error::Broker(BrokerError::BufferFull { capacity: 5 })
        ),
        "{refused:?}"
    );
    assert_eq!(client.buffered(), 5, "the refused task is not held");

    node.start_app().await.expect("start_app");
    let ids: Vec<_> = receipts.iter().map(|r| r.id).collect();
    wait_all_success(client.log().as_ref(), &ids).await;
    exactly_once(&ledger, &ids);
    assert!(!ledger.ran_key("overflow"), "the refused task never runs");
    assert_eq!(client.buffered(), 0);
    let filter = TaskFilter {
        primary_key: Some("overflow".into()),
        ..TaskFilter::default()
    };
    let refused = client
        .log()
        .list(&filter, PageRequest::first(10))
        .await
        .expect("list")
        .items;
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(
        refused[0].status,
        TaskState::Failed,
        "recorded as not accepted, never as queued"
    );
    assert!(
        refused[0]
            .fail_error
            .as_deref()
            .is_some_and(|e| e.contains("not accepted")),
        "{refused:?}"
    );
    worker.stop().await;
    client.close().await;
}
