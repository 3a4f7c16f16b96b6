//! A time-bounded property test of the wire decoder, run with the unit tests: messages built
//! from a valid task with any header replaced by any AMQP value (every type, hostile strings,
//! workflow JSON of every shape, times far off) and any `message_id` and body never make
//! [`decode`] panic; what it accepts is a task every other part of cogman accepts (a valid
//! name, primary key and workflow link, times within bounds), and encodes back to the same
//! task, so nothing is half-applied.

use chrono::Utc;
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use proptest::prelude::*;

use cogman_core::task::{validate_name, validate_primary_key};
use cogman_core::{Limits, Priority, Task, TaskSpec, TaskState};

use super::{decode, encode, headers};

const KEYS: [&str; 13] = [
    headers::VERSION,
    headers::TASK_NAME,
    headers::PRIORITY,
    headers::RETRY,
    headers::ATTEMPT,
    headers::ORIGINAL_TASK_ID,
    headers::PRIMARY_KEY,
    headers::CREATED_AT,
    headers::RUN_AT,
    headers::TIMEOUT_MS,
    headers::WORKFLOW,
    headers::DELIVERIES,
    "x-unknown",
];

fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-z]{0,3}[\u{0}\u{1b}\r\n\u{7f}][a-z]{0,3}",
        "[a-zA-Z]{0,3}",
        "(high|LOW|Low|urgent)",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(Z|\\+14:00|-12:00)",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        workflow_json(),
        Just("x".repeat(300)),
    ]
}

/// Workflow links of every shape, valid or not.
fn workflow_json() -> impl Strategy<Value = String> {
    let step = (
        "[a-z.]{1,8}|[a-z]\u{1b}\\[2J|",
        "(High|Low|Mid)",
        0u32..200,
        proptest::option::of(0u64..3),
    )
        .prop_map(|(name, priority, retry, timeout)| {
            serde_json::json!({"name": name, "priority": priority, "retry": retry, "timeout_ms": timeout})
        });
    (
        "(chain|group|chord|loop)",
        0u32..4,
        proptest::option::of(0u32..5),
        any::<bool>(),
        proptest::collection::vec(step, 0..3),
    )
        .prop_map(|(kind, size, index, callback, then)| {
            let mut link = serde_json::json!({
                "workflow_id": uuid::Uuid::now_v7(), "kind": kind, "size": size, "then": then,
            });
            if let Some(index) = index {
                link["index"] = index.into();
            }
            if callback {
                link["callback_id"] = uuid::Uuid::now_v7().to_string().into();
            }
            link.to_string()
        })
}

fn amqp_value() -> impl Strategy<Value = AMQPValue> {
    prop_oneof![
        Just(AMQPValue::Void),
        any::<bool>().prop_map(AMQPValue::Boolean),
        any::<i8>().prop_map(AMQPValue::ShortShortInt),
        any::<u8>().prop_map(AMQPValue::ShortShortUInt),
        any::<i16>().prop_map(AMQPValue::ShortInt),
        any::<u32>().prop_map(AMQPValue::LongUInt),
        any::<i64>().prop_map(AMQPValue::LongLongInt),
        (-3i64..3).prop_map(AMQPValue::LongLongInt),
        any::<f64>().prop_map(AMQPValue::Double),
        hostile_text().prop_map(|s| AMQPValue::LongString(LongString::from(s))),
        proptest::collection::vec(any::<u8>(), 0..16)
            .prop_map(|b| AMQPValue::LongString(LongString::from(b))),
        "[a-zA-Z0-9]{0,10}".prop_map(|s| AMQPValue::ShortString(ShortString::from(s))),
        Just(AMQPValue::FieldTable(FieldTable::default())),
    ]
}

/// A valid message, then some headers replaced or removed, maybe another id and body.
fn message() -> impl Strategy<Value = (BasicProperties, Vec<u8>)> {
    (
        proptest::collection::vec((0..KEYS.len(), proptest::option::of(amqp_value())), 0..5),
        proptest::option::of(hostile_text()),
        proptest::collection::vec(any::<u8>(), 0..80),
    )
        .prop_map(|(changes, id, body)| {
            let now = Utc::now();
            let mut task = Task::from_spec(
                TaskSpec::new("fuzz.task", Vec::new())
                    .priority(Priority::High)
                    .primary_key("key"),
                now,
            );
            task.status = TaskState::Queued;
            let mut props = encode(&task);
            let mut table = props.headers().clone().unwrap_or_default();
            for (key, value) in changes {
                let mut entries: std::collections::BTreeMap<_, _> =
                    table.inner().clone().into_iter().collect();
                match value {
                    Some(value) => {
                        entries.insert(ShortString::from(KEYS[key]), value);
                    }
                    None => {
                        entries.remove(KEYS[key]);
                    }
                }
                table = entries.into();
            }
            props = props.with_headers(table);
            if let Some(id) = id {
                props = props
                    .with_message_id(ShortString::from(id.chars().take(60).collect::<String>()));
            }
            (props, body)
        })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2000,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn decoding_never_panics_and_accepts_only_valid_tasks((props, body) in message()) {
        let limits = Limits { max_payload_bytes: 64, ..Limits::default() };
        let now = Utc::now();
        let Ok(decoded) = decode(&props, &body, &limits, now) else {
            return Ok(());
        };
        let task = decoded.task;
        prop_assert!(validate_name(&task.name, &limits).is_ok());
        if let Some(key) = &task.primary_key {
            prop_assert!(validate_primary_key(key, &limits).is_ok());
        }
        if let Some(link) = &task.workflow {
            prop_assert!(link.validate(task.original_task_id, &limits).is_ok());
        }
        prop_assert!(task.created_at <= now + chrono::TimeDelta::minutes(5));
        prop_assert!(task.retry <= limits.max_retry);
        prop_assert!(task.timeout_ms != Some(0));
        let again = decode(&encode(&task), &task.payload, &limits, now)
            .expect("an accepted task encodes to a valid message");
        prop_assert_eq!(again.task.id, task.id);
        prop_assert_eq!(&again.task.name, &task.name);
        prop_assert_eq!(&again.task.workflow, &task.workflow);
        prop_assert_eq!(again.task.original_task_id, task.original_task_id);
    }
}
