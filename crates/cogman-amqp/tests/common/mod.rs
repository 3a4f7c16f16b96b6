//! Helpers shared by the RabbitMQ integration tests: isolated configs (a unique queue prefix
//! and connection name per test), a [`Fixture`] that deletes the test's queues and exchanges
//! when dropped (with the testkit's `SharedCleanup`), raw lapin access (publish anything, read
//! the dead-letter queue) and `rabbitmqctl` wrappers to cut only this test's connections.
#![allow(dead_code)]

pub(crate) mod traffic;

use std::sync::Arc;
use std::time::Duration;

use cogman_amqp::wire::headers;
use cogman_amqp::{AmqpBroker, AmqpConfig, Topology};
use cogman_core::{Broker, ConsumeOptions, Consumer, Priority, Task, TaskState};
use cogman_testkit::BrokerFixture;
use cogman_testkit::servers::SharedCleanup;
use lapin::message::BasicGetMessage;
use lapin::options::{
    BasicGetOptions, BasicPublishOptions, ConfirmSelectOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties};

/// The shared test broker.
pub(crate) const URI: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// A name no other test (or test run) uses.
pub(crate) fn unique(label: &str) -> String {
    let id = uuid::Uuid::now_v7().simple().to_string();
    format!("t.{label}.{}", &id[id.len() - 12..])
}

/// A config on `uri` with a unique prefix and connection name.
pub(crate) fn config_on(uri: &str, label: &str) -> AmqpConfig {
    let name = unique(label);
    let mut config = AmqpConfig::new(uri);
    config.queue_prefix = format!("{name}.");
    config.connection_name = name;
    config
}

/// A config on the shared broker with a unique prefix and connection name.
pub(crate) fn config(label: &str) -> AmqpConfig {
    config_on(URI, label)
}

/// Shows the crate's logs in a failing test's output (`RUST_LOG` overrides the default).
pub(crate) fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("cogman_amqp=info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
}

/// A broker under test; its queues and exchanges are deleted when the fixture is dropped.
pub(crate) struct Fixture {
    pub(crate) broker: Arc<AmqpBroker>,
    _cleanup: Cleanup,
}

impl Fixture {
    /// Connects a broker with `config`.
    pub(crate) async fn start(config: AmqpConfig) -> Fixture {
        init_logs();
        let broker = AmqpBroker::connect(config)
            .await
            .unwrap_or_else(|e| panic!("connect: {e} ({e:?})"));
        let cleanup = Cleanup::of(&broker);
        Fixture {
            broker: Arc::new(broker),
            _cleanup: cleanup,
        }
    }

    pub(crate) fn topology(&self) -> &Topology {
        self.broker.topology()
    }

    /// A consumer with the default options.
    pub(crate) async fn consumer(&self) -> Box<dyn Consumer> {
        self.broker
            .consume(ConsumeOptions::default())
            .await
            .expect("consume")
    }

    /// Waits until the dead-letter queue holds `n` messages, then takes them.
    pub(crate) async fn dead_letters(&self, n: u32) -> Vec<BasicGetMessage> {
        let raw = Raw::open(&self.broker.config().uri).await;
        let queue = self.topology().dead_letter_queue().to_string();
        let dead = raw.take(&queue, n, Duration::from_secs(10)).await;
        raw.close().await;
        dead
    }
}

impl BrokerFixture for Fixture {
    fn broker(&self) -> Arc<dyn Broker> {
        Arc::clone(&self.broker) as Arc<dyn Broker>
    }
}

/// Deletes a topology's queues and exchanges on drop, once the broker's consumers are gone
/// (so no feed declares a deleted queue again).
pub(crate) struct Cleanup {
    uri: String,
    work_queues: Vec<String>,
    names: Option<SharedCleanup>,
}

impl Cleanup {
    pub(crate) fn of(broker: &AmqpBroker) -> Cleanup {
        let topology = broker.topology();
        let uri = broker.config().uri.clone();
        let names = SharedCleanup::new().amqp(&uri, topology.all_queues(), topology.exchanges());
        Cleanup {
            uri,
            work_queues: topology.work_queues().map(|(_, q)| q.to_string()).collect(),
            names: Some(names),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let uri = std::mem::take(&mut self.uri);
        let work = std::mem::take(&mut self.work_queues);
        // From a helper thread with its own runtime: this may run inside the test's runtime.
        let waited = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for cleanup");
            runtime.block_on(consumers_gone(&uri, &work))
        })
        .join();
        if let Ok(Err(e)) = waited {
            eprintln!("waiting for the consumers to go failed (harmless): {e}");
        }
        drop(self.names.take());
    }
}

/// Waits (at most 5 s) until no consumer is left on the work queues.
async fn consumers_gone(uri: &str, work: &[String]) -> Result<(), lapin::Error> {
    let connection = Connection::connect(uri, ConnectionProperties::default()).await?;
    let channel = connection.create_channel().await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    for queue in work {
        while tokio::time::Instant::now() < deadline {
            match passive(&channel, queue).await {
                Ok((_, 0)) | Err(_) => break,
                Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
    connection.close(200, "cleanup".into()).await
}

/// Ready messages and consumers of `queue` (a missing queue closes the channel).
pub(crate) async fn passive(channel: &Channel, queue: &str) -> Result<(u32, u32), lapin::Error> {
    let q = channel
        .queue_declare(
            queue.into(),
            QueueDeclareOptions {
                passive: true,
                ..QueueDeclareOptions::default()
            },
            FieldTable::default(),
        )
        .await?;
    Ok((q.message_count(), q.consumer_count()))
}

/// A plain queued task.
pub(crate) fn task(name: &str, priority: Priority) -> Task {
    let mut task = cogman_testkit::sample::task(name);
    task.priority = priority;
    task.status = TaskState::Queued;
    task
}

/// A raw connection and confirm-mode channel to poke at queues directly.
pub(crate) struct Raw {
    pub(crate) connection: Connection,
    pub(crate) channel: Channel,
}

impl Raw {
    pub(crate) async fn open(uri: &str) -> Raw {
        let connection = Connection::connect(uri, ConnectionProperties::default())
            .await
            .expect("raw connection");
        let channel = connection.create_channel().await.expect("raw channel");
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .expect("confirm mode");
        Raw {
            connection,
            channel,
        }
    }

    /// Publishes anything to `queue` through the default exchange and waits for the ack.
    pub(crate) async fn publish(&self, queue: &str, properties: BasicProperties, body: &[u8]) {
        let confirm = self
            .channel
            .basic_publish(
                "".into(),
                queue.into(),
                BasicPublishOptions {
                    mandatory: true,
                    immediate: false,
                },
                body,
                properties,
            )
            .await
            .expect("raw publish");
        assert_eq!(
            confirm.await.expect("raw confirm"),
            Confirmation::Ack(None),
            "raw publish to {queue} acked"
        );
    }

    /// Ready messages of `queue`.
    pub(crate) async fn ready(&self, queue: &str) -> u32 {
        passive(&self.channel, queue)
            .await
            .expect("passive declare")
            .0
    }

    /// Waits until `queue` holds `n` ready messages, then takes (and acks) them.
    pub(crate) async fn take(
        &self,
        queue: &str,
        n: u32,
        timeout: Duration,
    ) -> Vec<BasicGetMessage> {
        cogman_testkit::wait_until(&format!("{n} messages in {queue}"), timeout, || async {
            self.ready(queue).await >= n
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        let mut taken = Vec::new();
        for _ in 0..n {
            let message = self
                .channel
                .basic_get(queue.into(), BasicGetOptions { no_ack: true })
                .await
                .expect("basic_get")
                .expect("a message is ready");
            taken.push(message);
        }
        taken
    }

    pub(crate) async fn close(self) {
        let _ = self.connection.close(200, "done".into()).await;
    }
}

/// A string header of a received message.
pub(crate) fn header(properties: &BasicProperties, key: &str) -> Option<String> {
    match properties.headers().as_ref()?.inner().get(key)? {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// Why a dead-lettered message was dead-lettered ("" when it does not say).
pub(crate) fn dead_letter_reason(message: &BasicGetMessage) -> String {
    header(&message.delivery.properties, headers::DEAD_LETTER_REASON).unwrap_or_default()
}

/// The server-side ids (pids) of the connections whose client-provided connection name
/// starts with `name`.
pub(crate) async fn connection_pids(node: Option<&str>, name: &str) -> Vec<String> {
    let mut list = tokio::process::Command::new("rabbitmqctl");
    if let Some(node) = node {
        list.args(["-n", node]);
    }
    let output = list
        .args([
            "list_connections",
            "pid",
            "client_properties",
            "--no-table-headers",
            "-q",
        ])
        .output()
        .await
        .expect("rabbitmqctl list_connections runs");
    assert!(output.status.success(), "list_connections: {output:?}");
    let text = String::from_utf8_lossy(&output.stdout);
    let marker = format!("{{\"connection_name\",\"{name}/");
    let mut pids: Vec<String> = text
        .lines()
        .filter(|line| line.contains(&marker))
        .filter_map(|line| line.split_whitespace().next().map(str::to_owned))
        .collect();
    pids.sort();
    pids
}

/// Closes, with `rabbitmqctl close_connection`, every connection whose client-provided
/// connection name starts with `name` (this test's connections only). Returns how many.
pub(crate) async fn close_connections(node: Option<&str>, name: &str) -> usize {
    let pids = connection_pids(node, name).await;
    for pid in &pids {
        let mut close = tokio::process::Command::new("rabbitmqctl");
        if let Some(node) = node {
            close.args(["-n", node]);
        }
        let status = close
            .args(["close_connection", pid, "cogman test: cut"])
            .output()
            .await
            .expect("rabbitmqctl close_connection runs");
        assert!(
            status.status.success(),
            "close_connection {pid}: {status:?}"
        );
    }
    pids.len()
}
