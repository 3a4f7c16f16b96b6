//! Chains and chords over the distributed backends: RabbitMQ as the broker and Redis in front
//! of PostgreSQL as the task log (the real servers on 127.0.0.1), with a queue prefix, Redis
//! namespace and PostgreSQL schema unique to each test run. The test's queues and exchanges
//! are deleted when it ends.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cogman::{ChordResult, Config, TaskError, TaskSpec, TaskState, handler_fn};
use cogman_amqp::{AmqpConfig, Topology};
use cogman_testkit::wait_for_final;
use lapin::options::{ExchangeDeleteOptions, QueueDeleteOptions};
use lapin::{Connection, ConnectionProperties};

const WAIT: Duration = Duration::from_secs(30);
const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// A distributed config whose queues, keys and schema no other test (or run) uses.
fn config(label: &str) -> Config {
    let id = uuid::Uuid::now_v7().simple().to_string();
    let unique = format!("wf_{label}_{}", &id[id.len() - 16..]);
    Config {
        amqp_uri: Some(AMQP.into()),
        redis_uri: Some("redis://127.0.0.1:6379".into()),
        postgres_uri: Some("postgres://postgres@127.0.0.1:5432/test".into()),
        queue_prefix: format!("{unique}."),
        redis_namespace: unique.clone(),
        postgres_schema: unique,
        retry_backoff: Duration::from_millis(20),
        retry_backoff_max: Duration::from_millis(100),
        shutdown_grace: Duration::from_secs(5),
        ..Config::default()
    }
}

/// Deletes the RabbitMQ queues and exchanges of `config` when dropped (from a helper thread
/// with its own runtime, so it also runs when the test panics).
struct Cleanup(Config);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let config = self.0.clone();
        let deleted = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(delete_topology(&config))
        })
        .join();
        if let Ok(Err(error)) = deleted {
            eprintln!("cleanup failed (harmless): {error}");
        }
    }
}

async fn delete_topology(config: &Config) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut amqp = AmqpConfig::new(AMQP);
    amqp.queue_prefix.clone_from(&config.queue_prefix);
    amqp.high_queue_count = config.high_priority_queue_count;
    amqp.low_queue_count = config.low_priority_queue_count;
    let topology = Topology::new(&amqp)?;
    let connection = Connection::connect(AMQP, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    let queues = topology
        .work_queues()
        .map(|(_, q)| q)
        .chain(topology.delay_levels())
        .chain([topology.dead_letter_queue()]);
    for queue in queues {
        channel
            .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
            .await?;
    }
    for exchange in topology
        .delay_levels()
        .iter()
        .chain([topology.delay_deliver_exchange()])
    {
        channel
            .exchange_delete(exchange.as_str().into(), ExchangeDeleteOptions::default())
            .await?;
    }
    connection.close(200, "cleanup".into()).await?;
    Ok(())
}

async fn start(config: &Config) -> cogman::Cogman {
    cogman::start_background(config.clone())
        .await
        .unwrap_or_else(|e| panic!("distributed cogman starts: {e} ({e:?})"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_runs_over_rabbitmq_redis_and_postgres() {
    let config = config("chain");
    let _cleanup = Cleanup(config.clone());
    let cogman = start(&config).await;
    let ran = Arc::new(Mutex::new(Vec::new()));
    for (name, tag) in [("d.step.a", "a"), ("d.step.b", "b"), ("d.step.c", "c")] {
        let ran = Arc::clone(&ran);
        let handler = handler_fn(move |_ctx, mut payload: Vec<u8>| {
            ran.lock().expect("lock").push(tag);
            payload.extend_from_slice(tag.as_bytes());
            async move { Ok::<_, TaskError>(payload) }
        });
        cogman.register(name, handler).expect("register");
    }
    let client = cogman.client();
    let steps = vec![
        TaskSpec::new("d.step.a", b"x".to_vec()),
        TaskSpec::new("d.step.b", Vec::new()).retry(1),
        TaskSpec::new("d.step.c", Vec::new()).primary_key("last"),
    ];
    let receipt = client.send_chain(steps).await.expect("send chain");
    let last = cogman_testkit::wait_until("the last step to succeed", WAIT, || {
        let client = client.clone();
        async move {
            let filter = cogman::TaskFilter {
                primary_key: Some("last".into()),
                ..cogman::TaskFilter::default()
            };
            let page = client
                .log()
                .list(&filter, cogman::PageRequest::first(1))
                .await;
            page.is_ok_and(|p| {
                p.items
                    .first()
                    .is_some_and(|t| t.status == TaskState::Success)
            })
        }
    })
    .await;
    last.expect("chain ends");
    let filter = cogman::TaskFilter {
        primary_key: Some("last".into()),
        ..cogman::TaskFilter::default()
    };
    let last = client
        .log()
        .list(&filter, cogman::PageRequest::first(1))
        .await
        .expect("list")
        .items
        .remove(0);
    assert_eq!(last.result.as_deref(), Some(b"xabc".as_slice()));
    assert_eq!(
        last.workflow.as_ref().map(|l| l.workflow_id),
        Some(receipt.workflow_id)
    );
    cogman.stop().await;
    assert_eq!(*ran.lock().expect("lock"), ["a", "b", "c"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chord_runs_over_rabbitmq_redis_and_postgres() {
    let config = config("chord");
    let _cleanup = Cleanup(config.clone());
    let cogman = start(&config).await;
    cogman
        .register(
            "d.square",
            handler_fn(|_ctx, payload: Vec<u8>| async move {
                let i: u64 = String::from_utf8_lossy(&payload)
                    .parse()
                    .map_err(|_| TaskError::fail("bad payload"))?;
                Ok::<_, TaskError>((i * i).to_string())
            }),
        )
        .expect("register");
    let payloads = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&payloads);
    cogman
        .register(
            "d.collect",
            handler_fn(move |_ctx, payload: Vec<u8>| {
                seen.lock().expect("lock").push(payload);
                async { Ok::<_, TaskError>("collected") }
            }),
        )
        .expect("register");
    let client = cogman.client();
    let members = (0..10u64)
        .map(|i| TaskSpec::new("d.square", i.to_string().into_bytes()))
        .collect();
    let receipt = client
        .send_chord(members, TaskSpec::new("d.collect", Vec::new()))
        .await
        .expect("send chord");
    let callback = wait_for_final(client.log().as_ref(), receipt.callback_id, WAIT)
        .await
        .expect("callback ends");
    assert_eq!(callback.status, TaskState::Success, "{callback:?}");
    let status = client.group_status(&receipt.ids()).await.expect("status");
    assert_eq!(
        (status.count(TaskState::Success), status.done),
        (10, true),
        "{status:?}"
    );
    cogman.stop().await;
    let payloads = payloads.lock().expect("lock").clone();
    // With RabbitMQ, members that finish at the same moment may both send the callback (see
    // docs/workflows.md): a duplicate run is possible, a second success is not, and every run
    // receives the same results.
    assert!(!payloads.is_empty(), "the callback ran");
    assert!(
        payloads.iter().all(|p| *p == payloads[0]),
        "every run got the same payload"
    );
    let results = ChordResult::parse(&payloads[0]).expect("results");
    let squares: Vec<String> = (0..10u64).map(|i| (i * i).to_string()).collect();
    assert_eq!(
        results
            .iter()
            .filter_map(|r| r.result.clone())
            .collect::<Vec<_>>(),
        squares
    );
    assert!(
        results
            .iter()
            .zip(&receipt.members)
            .all(|(r, m)| r.task_id == m.id),
        "member order"
    );
}
