//! Malformed messages put on cogman's queues by foreign clients never reach a worker: each is
//! dead-lettered with its reason, and `next()` goes on to the next good task.

use std::time::Duration;

use cogman_amqp::wire::{self, headers};
use cogman_core::{Broker, Priority};
use cogman_testkit::{expect_no_delivery, next_within};
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};

use crate::common::{Fixture, Raw, URI, config, dead_letter_reason, header, task};

fn with(properties: &BasicProperties, key: &str, value: AMQPValue) -> BasicProperties {
    let mut table = properties.headers().clone().unwrap_or_default();
    table.insert(ShortString::from(key), value);
    properties.clone().with_headers(table)
}

/// A chord member whose `then` holds two callbacks (a chord has one).
fn chord_member_with_two_callbacks() -> String {
    let workflow = cogman_core::TaskId::new();
    let step = serde_json::json!({"name": "cb", "priority": "Low", "retry": 0, "timeout_ms": null});
    serde_json::json!({
        "workflow_id": workflow, "kind": "chord", "size": 2, "index": 0,
        "callback_id": cogman_core::TaskId::new(), "then": [step, step]
    })
    .to_string()
}

/// A chain whose next step has this name.
fn chain_step_named(name: &str) -> String {
    serde_json::json!({
        "workflow_id": cogman_core::TaskId::new(), "kind": "chain", "size": 2, "index": 0,
        "then": [{"name": name, "priority": "Low", "retry": 0, "timeout_ms": null}]
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_are_dead_lettered_and_good_ones_still_flow() {
    let mut cfg = config("malformed");
    cfg.max_payload_bytes = 64;
    let fx = Fixture::start(cfg).await;
    let queue = fx.topology().queues(Priority::Low)[0].to_string();
    let template = task("malformed.template", Priority::Low);
    let good_props = wire::encode(&template);

    // (properties, body, expected words in the dead-letter reason)
    let bad: Vec<(BasicProperties, Vec<u8>, &str)> = vec![
        (
            BasicProperties::default().with_message_id(ShortString::from(template.id.to_string())),
            b"no headers".to_vec(),
            "no headers",
        ),
        (
            with(&good_props, headers::VERSION, AMQPValue::LongLongInt(99)),
            b"future".to_vec(),
            "unknown cogman-version 99",
        ),
        (good_props.clone(), vec![0; 65], "body is 65 bytes"),
        (
            good_props.clone().with_message_id("not-a-uuid".into()),
            b"x".to_vec(),
            "is not a UUID",
        ),
        (
            with(
                &good_props,
                headers::RETRY,
                AMQPValue::LongString(LongString::from("3")),
            ),
            b"x".to_vec(),
            "cogman-retry must be an integer",
        ),
        (
            with(
                &good_props,
                headers::TASK_NAME,
                AMQPValue::FieldTable(FieldTable::default()),
            ),
            b"x".to_vec(),
            "cogman-task-name must be a string",
        ),
        (
            with(
                &good_props,
                headers::WORKFLOW,
                AMQPValue::LongString(LongString::from(chord_member_with_two_callbacks())),
            ),
            b"x".to_vec(),
            "carries 2 callbacks",
        ),
        (
            with(
                &good_props,
                headers::WORKFLOW,
                AMQPValue::LongString(LongString::from(chain_step_named("\u{1b}[2J\r\nrm -rf"))),
            ),
            b"x".to_vec(),
            "then[0]: task name contains a control character",
        ),
        (
            with(
                &good_props,
                headers::CREATED_AT,
                AMQPValue::LongString(LongString::from("9999-12-31T23:59:59Z")),
            ),
            b"x".to_vec(),
            "after the time of receipt",
        ),
        (
            with(
                &good_props,
                headers::CREATED_AT,
                AMQPValue::LongString(LongString::from("0001-01-01T00:00:00Z")),
            ),
            b"x".to_vec(),
            "before the time of receipt",
        ),
    ];
    let raw = Raw::open(URI).await;
    for (props, body, _) in &bad {
        raw.publish(&queue, props.clone(), body).await;
    }
    let good = task("malformed.good", Priority::Low);
    fx.broker
        .publish(&good)
        .await
        .expect("publish the good task");

    let mut consumer = fx.consumer().await;
    let delivery = next_within(&mut *consumer, Duration::from_secs(10))
        .await
        .expect("the good task gets through");
    assert_eq!(delivery.task().id, good.id);
    delivery.ack().await.expect("ack");
    expect_no_delivery(&mut *consumer, Duration::from_millis(500))
        .await
        .expect("no malformed message is handed out");

    let dead_letter_queue = fx.topology().dead_letter_queue().to_string();
    let dead = raw
        .take(
            &dead_letter_queue,
            bad.len() as u32,
            Duration::from_secs(10),
        )
        .await;
    let reasons: Vec<String> = dead.iter().map(dead_letter_reason).collect();
    for (_, _, expected) in &bad {
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with("malformed: ") && r.contains(expected)),
            "a dead letter says {expected:?}; reasons: {reasons:?}"
        );
    }
    for message in &dead {
        assert_eq!(
            header(&message.delivery.properties, headers::DEAD_LETTER_QUEUE).as_deref(),
            Some(queue.as_str())
        );
    }
    assert_eq!(raw.ready(&queue).await, 0, "nothing was requeued");
    raw.close().await;
}
