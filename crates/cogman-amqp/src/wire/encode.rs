//! Writing the wire format: a task's message properties, and the properties of a message
//! cogman moves on (requeue bookkeeping, re-delay, dead letter).

use chrono::{DateTime, SecondsFormat, Utc};
use lapin::BasicProperties;
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};

use cogman_core::Task;

use super::{CONTENT_TYPE, WIRE_VERSION, headers};

/// AMQP `delivery_mode` of persistent messages.
const PERSISTENT: u8 = 2;

/// Headers RabbitMQ adds when it dead-letters a message (here: when a delay level expires).
/// They are dropped whenever cogman republishes a message: RabbitMQ reads `x-death` to detect
/// dead-letter cycles, and a republished message that passes the same delay level again would
/// otherwise be taken for a cycle and silently dropped.
const BROKER_DEATH_HEADERS: [&str; 5] = [
    "x-death",
    "x-first-death-exchange",
    "x-first-death-queue",
    "x-first-death-reason",
    "x-last-death-queue",
];

/// The message properties of `task` (the body is `task.payload`): persistent,
/// `message_id` = task id, `content_type` = `application/octet-stream`, and the `cogman-*`
/// headers.
pub fn encode(task: &Task) -> BasicProperties {
    let mut table = FieldTable::default();
    let mut put = |key: &str, value: AMQPValue| {
        table.insert(ShortString::from(key), value);
    };
    put(headers::VERSION, AMQPValue::LongLongInt(WIRE_VERSION));
    put(headers::TASK_NAME, text(&task.name));
    put(headers::QUEUE, text(&task.queue));
    put(headers::PRIORITY, text(task.priority.as_str()));
    put(
        headers::RETRY,
        AMQPValue::LongLongInt(i64::from(task.retry)),
    );
    put(
        headers::ATTEMPT,
        AMQPValue::LongLongInt(i64::from(task.attempt)),
    );
    put(
        headers::ORIGINAL_TASK_ID,
        text(&task.original_task_id.to_string()),
    );
    if let Some(key) = &task.primary_key {
        put(headers::PRIMARY_KEY, text(key));
    }
    if let Some(key) = &task.unique_key {
        put(headers::UNIQUE_KEY, text(key));
    }
    if let Some(trace) = &task.trace {
        put(headers::TRACEPARENT, text(&trace.traceparent()));
        if let Some(state) = &trace.state {
            put(headers::TRACESTATE, text(state));
        }
    }
    put(headers::CREATED_AT, text(&timestamp(task.created_at)));
    if let Some(run_at) = task.run_at {
        put(headers::RUN_AT, text(&timestamp(run_at)));
    }
    if let Some(ms) = task.timeout_ms {
        put(
            headers::TIMEOUT_MS,
            AMQPValue::LongLongInt(i64::try_from(ms).unwrap_or(i64::MAX)),
        );
    }
    if let Some(workflow) = &task.workflow
        && let Ok(json) = serde_json::to_string(workflow)
    {
        put(headers::WORKFLOW, text(&json));
    }
    BasicProperties::default()
        .with_message_id(ShortString::from(task.id.to_string()))
        .with_content_type(ShortString::from(CONTENT_TYPE))
        .with_delivery_mode(PERSISTENT)
        .with_timestamp(u64::try_from(task.created_at.timestamp()).unwrap_or(0))
        .with_headers(table)
}

/// RFC 3339 in UTC with milliseconds, e.g. `2026-11-27T21:39:00.123Z`.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The properties of a received message about to be published again: the same properties
/// and headers, persistent, without the broker's dead-letter headers, with `extra` headers
/// set on top.
pub(crate) fn republish_properties(
    original: &BasicProperties,
    extra: Vec<(&'static str, AMQPValue)>,
) -> BasicProperties {
    let mut table: FieldTable = original
        .headers()
        .as_ref()
        .map(|h| {
            h.inner()
                .iter()
                .filter(|(k, _)| !BROKER_DEATH_HEADERS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<std::collections::BTreeMap<_, _>>()
                .into()
        })
        .unwrap_or_default();
    fold_broker_deliveries(&mut table);
    for (key, value) in extra {
        table.insert(ShortString::from(key), value);
    }
    original
        .clone()
        .with_delivery_mode(PERSISTENT)
        .with_headers(table)
}

/// Moves a quorum queue's `x-delivery-count` (returns counted by the broker) into
/// `x-cogman-deliveries`, so the count survives the move to another queue, where the broker
/// counts from zero again, and is not counted twice.
fn fold_broker_deliveries(table: &mut FieldTable) {
    let count = |value: Option<&AMQPValue>| -> i64 {
        match value {
            Some(AMQPValue::LongLongInt(n)) => *n,
            Some(AMQPValue::LongInt(n)) => i64::from(*n),
            Some(AMQPValue::LongUInt(n)) => i64::from(*n),
            Some(AMQPValue::ShortInt(n)) => i64::from(*n),
            Some(AMQPValue::ShortUInt(n)) => i64::from(*n),
            Some(AMQPValue::ShortShortInt(n)) => i64::from(*n),
            Some(AMQPValue::ShortShortUInt(n)) => i64::from(*n),
            _ => 0,
        }
    };
    let key = ShortString::from(headers::BROKER_DELIVERY_COUNT);
    let Some(returned) = table.inner().get(&key).map(|v| count(Some(v))) else {
        return;
    };
    let mut inner = table.inner().clone();
    inner.remove(&key);
    let cogman = count(inner.get(&ShortString::from(headers::DELIVERIES)));
    inner.insert(
        ShortString::from(headers::DELIVERIES),
        AMQPValue::LongLongInt(cogman.saturating_add(returned.max(0))),
    );
    *table = inner.into();
}

/// A long-string header value.
pub(crate) fn text(s: &str) -> AMQPValue {
    AMQPValue::LongString(LongString::from(s))
}
