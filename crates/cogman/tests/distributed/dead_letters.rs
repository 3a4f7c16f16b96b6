//! Dead letters over RabbitMQ: a malformed message a foreign client put on a work queue and a
//! poison task are collected from the dead-letter queue into the task log (SQLite, and Redis
//! with PostgreSQL), listed with their reasons, the poison task failed, requeued and run; the
//! malformed one cannot be requeued and is purged.

use lapin::options::BasicPublishOptions;
use lapin::types::{AMQPValue, FieldTable};
use lapin::{BasicProperties, Connection, ConnectionProperties};

use cogman::{Client, Config, Error, TaskId, Worker};

use crate::harness::{AMQP, Env, POSTGRES, REDIS};
use crate::support::dead_letters::{
    POISON, a_poison_task_is_failed_listed_requeued_and_purged, counting, listed_with,
};

/// Publishes a message with a message id and no task name to `{prefix}low_priority_queue_0`.
async fn publish_malformed(config: &Config) -> TaskId {
    let id = TaskId::new();
    let connection = Connection::connect(AMQP, ConnectionProperties::default())
        .await
        .expect("connect");
    let channel = connection.create_channel().await.expect("channel");
    let mut headers = FieldTable::default();
    headers.insert("cogman-version".into(), AMQPValue::LongLongInt(1));
    headers.insert(
        "cogman-priority".into(),
        AMQPValue::LongString("Low".into()),
    );
    let queue = format!("{}low_priority_queue_0", config.amqp.queue_prefix);
    channel
        .basic_publish(
            "".into(),
            queue.as_str().into(),
            BasicPublishOptions::default(),
            b"foreign body",
            BasicProperties::default()
                .with_message_id(id.to_string().into())
                .with_headers(headers),
        )
        .await
        .expect("publish")
        .await
        .expect("confirm");
    connection.close(200, "done".into()).await.expect("close");
    id
}

async fn malformed_and_poison(env: &Env) {
    let mut config = env.config.clone();
    config.max_deliveries = 2;
    let client = Client::connect(&config).await.expect("client");
    let malformed = publish_malformed(&config).await;
    let worker = a_poison_task_is_failed_listed_requeued_and_purged(&client, |runs| {
        let config = config.clone();
        async move {
            let worker = Worker::connect(&config).await.expect("worker");
            worker.register(POISON, counting(runs)).expect("register");
            worker.start().await.expect("start");
            worker
        }
    })
    .await;
    let dead = listed_with(&client, "malformed").await;
    assert_eq!(dead.entry.task_id, Some(malformed));
    assert!(
        dead.entry.reason.contains("cogman-task-name"),
        "the reason names the header: {}",
        dead.entry.reason
    );
    assert_eq!(dead.entry.body, b"foreign body");
    assert!(
        dead.entry
            .queue
            .as_deref()
            .is_some_and(|q| q.ends_with("low_priority_queue_0"))
    );
    assert!(matches!(
        client.requeue_dead_letter(dead.id).await,
        Err(Error::DeadLetterNotRequeueable { .. })
    ));
    client.remove_dead_letter(dead.id).await.expect("purge one");
    let left = client
        .inspector()
        .dead_letters(None, 50)
        .await
        .expect("list");
    assert!(left.items.is_empty(), "nothing left: {left:?}");
    worker.stop().await;
    client.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_collected_listed_requeued_and_purged_with_sqlite() {
    let env = Env::new("dead_sqlite", AMQP, None, None);
    malformed_and_poison(&env).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_letters_are_collected_listed_requeued_and_purged_with_redis_and_postgres() {
    let env = Env::new("dead_tiered", AMQP, Some(REDIS), Some(POSTGRES));
    malformed_and_poison(&env).await;
}
