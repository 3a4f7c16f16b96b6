//! Reading the wire format: message properties and body back into a [`Task`], checking every
//! field. Anything that does not match `docs/wire-format.md` is a [`DecodeError`] whose text
//! becomes the dead-letter reason.

use chrono::{DateTime, Utc};
use lapin::BasicProperties;

use cogman_core::task::{validate_name, validate_primary_key, validate_queue_name};
use cogman_core::{HandlerWait, Limits, Priority, Task, TaskId, TaskState, WorkflowLink};
use cogman_core::{TraceContext, validate_unique};

use super::error::DecodeError;
use super::fields::{int, required_string, string, u32_field};
use super::{WIRE_VERSION, headers};

/// A task read off the wire, with cogman's delivery bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The task (state `queued`).
    pub task: Task,
    /// Deliveries of this message that ended without being settled: the
    /// `x-cogman-deliveries` header plus a quorum queue's `x-delivery-count` (0 when absent).
    pub prior_deliveries: u32,
    /// How long it has waited for a worker with its handler (`x-cogman-handler-waits` and
    /// `x-cogman-waiting-since`), when a worker deferred it before.
    pub handler_wait: Option<HandlerWait>,
}

/// Reads a task from a message. `limits` bounds the body size, name and retry budget; `now`
/// stands in for a missing `cogman-created-at`.
///
/// # Errors
/// A [`DecodeError`] naming the first problem found. The body size is checked first, before
/// anything else is parsed.
pub fn decode(
    properties: &BasicProperties,
    body: &[u8],
    limits: &Limits,
    now: DateTime<Utc>,
) -> Result<Decoded, DecodeError> {
    if body.len() > limits.max_payload_bytes {
        return Err(DecodeError::BodyTooLarge {
            len: body.len(),
            max: limits.max_payload_bytes,
        });
    }
    let id = properties
        .message_id()
        .as_ref()
        .ok_or(DecodeError::MissingMessageId)?;
    let id: TaskId = id
        .as_str()
        .parse()
        .map_err(|_| DecodeError::BadMessageId(id.as_str().chars().take(64).collect()))?;
    let table = properties
        .headers()
        .as_ref()
        .ok_or(DecodeError::NoHeaders)?;

    let version =
        int(table, headers::VERSION)?.ok_or(DecodeError::MissingHeader(headers::VERSION))?;
    if version != WIRE_VERSION {
        return Err(DecodeError::UnknownVersion(version));
    }
    let name = required_string(table, headers::TASK_NAME)?;
    validate_name(name, limits).map_err(|e| invalid(headers::TASK_NAME, e))?;
    let queue = match string(table, headers::QUEUE)? {
        Some(queue) => {
            validate_queue_name(queue).map_err(|e| invalid(headers::QUEUE, e))?;
            queue.to_owned()
        }
        None => cogman_core::default_queue(),
    };
    let priority: Priority = required_string(table, headers::PRIORITY)?
        .parse()
        .map_err(|e| invalid(headers::PRIORITY, e))?;
    let retry = u32_field(table, headers::RETRY)?.unwrap_or(0);
    if retry > limits.max_retry {
        return Err(DecodeError::InvalidValue {
            header: headers::RETRY,
            reason: format!("{retry} is above the limit of {}", limits.max_retry),
        });
    }
    let attempt = u32_field(table, headers::ATTEMPT)?.unwrap_or(0);
    let original_task_id = match string(table, headers::ORIGINAL_TASK_ID)? {
        Some(s) => s
            .parse::<TaskId>()
            .map_err(|e| invalid(headers::ORIGINAL_TASK_ID, e))?,
        None => id,
    };
    let primary_key = string(table, headers::PRIMARY_KEY)?.map(str::to_owned);
    if let Some(key) = &primary_key {
        validate_primary_key(key, limits).map_err(|e| invalid(headers::PRIMARY_KEY, e))?;
    }
    let created_at = time(table, headers::CREATED_AT)?.unwrap_or(now);
    check_created_at(created_at, limits, now)?;
    let run_at = time(table, headers::RUN_AT)?;
    if let Some(run_at) = run_at
        && now
            .checked_add_signed(max_delay(limits))
            .is_some_and(|latest| run_at > latest)
    {
        return Err(DecodeError::InvalidValue {
            header: headers::RUN_AT,
            reason: format!(
                "{} is more than the longest delay ({} s) after the time of receipt",
                run_at.to_rfc3339(),
                limits.max_delay.as_secs()
            ),
        });
    }
    let timeout_ms = match int(table, headers::TIMEOUT_MS)? {
        None => None,
        Some(ms) if ms > 0 => Some(ms.unsigned_abs()),
        Some(ms) => {
            return Err(DecodeError::InvalidValue {
                header: headers::TIMEOUT_MS,
                reason: format!("{ms} is not greater than zero"),
            });
        }
    };
    let workflow = string(table, headers::WORKFLOW)?
        .map(serde_json::from_str::<WorkflowLink>)
        .transpose()
        .map_err(|e| invalid(headers::WORKFLOW, e))?;
    if let Some(link) = &workflow {
        link.validate(original_task_id, limits)
            .map_err(|e| invalid(headers::WORKFLOW, e))?;
    }
    let unique_key = string(table, headers::UNIQUE_KEY)?.map(str::to_owned);
    validate_unique(unique_key.as_deref(), None, limits)
        .map_err(|e| invalid(headers::UNIQUE_KEY, e))?;
    // Tracing is best effort: a trace context that is missing, of the wrong type or invalid
    // leaves the task untraced (a new trace), it never dead-letters it.
    let trace = string(table, headers::TRACEPARENT)
        .ok()
        .flatten()
        .and_then(|parent| {
            let state = string(table, headers::TRACESTATE).ok().flatten();
            TraceContext::parse(parent, state)
        });
    let prior_deliveries = u32_field(table, headers::DELIVERIES)?
        .unwrap_or(0)
        .saturating_add(u32_field(table, headers::BROKER_DELIVERY_COUNT)?.unwrap_or(0));
    let handler_wait = time(table, headers::WAITING_SINCE)?
        .map(|since| {
            Ok::<_, DecodeError>(HandlerWait {
                waits: u32_field(table, headers::HANDLER_WAITS)?.unwrap_or(1),
                since,
            })
        })
        .transpose()?;

    Ok(Decoded {
        task: Task {
            trace,
            id,
            name: name.to_owned(),
            queue,
            payload: body.to_vec(),
            priority,
            retry,
            attempt,
            original_task_id,
            primary_key,
            status: TaskState::Queued,
            fail_error: None,
            result: None,
            duration: None,
            created_at,
            updated_at: created_at,
            run_at,
            timeout_ms,
            workflow,
            unique_key,
        },
        prior_deliveries,
        handler_wait,
    })
}

/// How far ahead of the time of receipt a producer's clock may run.
const MAX_CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(5);

/// How long a task may legitimately wait between being created and being received: the
/// longest delay, plus 30 days in a queue or an outbox.
fn max_age(limits: &Limits) -> chrono::TimeDelta {
    max_delay(limits)
        .checked_add(&chrono::TimeDelta::days(30))
        .unwrap_or(chrono::TimeDelta::MAX)
}

fn max_delay(limits: &Limits) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(limits.max_delay).unwrap_or(chrono::TimeDelta::MAX)
}

/// A creation time must lie between [`max_age`] before the time of receipt and
/// [`MAX_CLOCK_SKEW`] after it: a time in year 9999 would top every newest-first list, one
/// in year 1 would be purged as soon as the task finished.
fn check_created_at(
    created_at: DateTime<Utc>,
    limits: &Limits,
    now: DateTime<Utc>,
) -> Result<(), DecodeError> {
    let reason = if now
        .checked_add_signed(MAX_CLOCK_SKEW)
        .is_some_and(|latest| created_at > latest)
    {
        format!(
            "{} is more than {} minutes after the time of receipt",
            created_at.to_rfc3339(),
            MAX_CLOCK_SKEW.num_minutes()
        )
    } else if now
        .checked_sub_signed(max_age(limits))
        .is_some_and(|earliest| created_at < earliest)
    {
        format!(
            "{} is more than {} days before the time of receipt",
            created_at.to_rfc3339(),
            max_age(limits).num_days()
        )
    } else {
        return Ok(());
    };
    Err(DecodeError::InvalidValue {
        header: headers::CREATED_AT,
        reason,
    })
}

fn time(
    table: &lapin::types::FieldTable,
    key: &'static str,
) -> Result<Option<DateTime<Utc>>, DecodeError> {
    string(table, key)?
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| invalid(key, e))
        })
        .transpose()
}

fn invalid(header: &'static str, e: impl std::fmt::Display) -> DecodeError {
    DecodeError::InvalidValue {
        header,
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};

    use super::*;
    use crate::wire::encode;
    use cogman_core::TaskSpec;

    fn sample() -> Task {
        let now = Utc::now();
        let mut task = Task::from_spec(
            TaskSpec::new("email.send", b"\x00\xffpayload".to_vec())
                .priority(Priority::High)
                .retry(3)
                .primary_key("order-42")
                .unique_key("order-42-once")
                .timeout(std::time::Duration::from_millis(1500))
                .run_at(now + chrono::Duration::seconds(30))
                .trace_parent(
                    TraceContext::parse(
                        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                        Some("congo=t61rcWkgMzE"),
                    )
                    .expect("valid traceparent"),
                ),
            now,
        );
        task.status = TaskState::Queued;
        task
    }

    fn with_header(props: &BasicProperties, key: &str, value: AMQPValue) -> BasicProperties {
        let mut table = props.headers().clone().unwrap_or_default();
        table.insert(ShortString::from(key), value);
        props.clone().with_headers(table)
    }

    fn round_trip_equal(a: &Task, b: &Task) {
        assert_eq!(a.id, b.id);
        assert_eq!(a.name, b.name);
        assert_eq!(a.payload, b.payload);
        assert_eq!(a.priority, b.priority);
        assert_eq!((a.retry, a.attempt), (b.retry, b.attempt));
        assert_eq!(a.original_task_id, b.original_task_id);
        assert_eq!(a.primary_key, b.primary_key);
        assert_eq!(a.unique_key, b.unique_key);
        assert_eq!(a.trace, b.trace);
        assert_eq!(a.timeout_ms, b.timeout_ms);
        // Times travel with millisecond precision.
        assert_eq!(
            a.created_at.timestamp_millis(),
            b.created_at.timestamp_millis()
        );
        assert_eq!(
            a.run_at.map(|t| t.timestamp_millis()),
            b.run_at.map(|t| t.timestamp_millis())
        );
    }

    #[test]
    fn tasks_round_trip() {
        let task = sample();
        let props = encode(&task);
        let decoded = decode(&props, &task.payload, &Limits::default(), Utc::now()).expect("valid");
        round_trip_equal(&decoded.task, &task);
        assert_eq!(decoded.prior_deliveries, 0);
        assert_eq!(decoded.task.status, TaskState::Queued);
    }

    #[test]
    fn a_bad_trace_context_leaves_the_task_untraced() {
        let task = sample();
        for value in [
            AMQPValue::LongString(LongString::from("00-not-a-trace-01")),
            AMQPValue::LongLongInt(7),
        ] {
            let props = with_header(&encode(&task), headers::TRACEPARENT, value);
            let decoded = decode(&props, b"", &Limits::default(), Utc::now()).expect("valid");
            assert_eq!(decoded.task.trace, None);
        }
    }

    #[test]
    fn foreign_integer_widths_and_short_strings_are_accepted() {
        let task = sample();
        let props = with_header(&encode(&task), headers::RETRY, AMQPValue::ShortShortUInt(2));
        let props = with_header(&props, headers::VERSION, AMQPValue::LongInt(1));
        let props = with_header(&props, headers::PRIMARY_KEY, AMQPValue::Void);
        let decoded = decode(&props, b"", &Limits::default(), Utc::now()).expect("valid");
        assert_eq!(decoded.task.retry, 2);
        assert_eq!(decoded.task.primary_key, None);
    }

    #[test]
    fn malformed_messages_say_why() {
        let task = sample();
        let good = encode(&task);
        let limits = Limits {
            max_payload_bytes: 4,
            ..Limits::default()
        };
        let now = Utc::now();
        let check =
            |props: &BasicProperties, body: &[u8]| decode(props, body, &limits, now).map(|_| ());

        assert_eq!(
            check(&good, b"12345"),
            Err(DecodeError::BodyTooLarge { len: 5, max: 4 })
        );
        assert_eq!(
            check(&good.clone().with_message_id("nope".into()), b""),
            Err(DecodeError::BadMessageId("nope".into()))
        );
        assert_eq!(
            check(&BasicProperties::default(), b""),
            Err(DecodeError::MissingMessageId)
        );
        assert_eq!(
            check(
                &with_header(&good, headers::VERSION, AMQPValue::LongLongInt(7)),
                b""
            ),
            Err(DecodeError::UnknownVersion(7))
        );
        assert_eq!(
            check(
                &with_header(
                    &good,
                    headers::RETRY,
                    AMQPValue::LongString(LongString::from("3"))
                ),
                b""
            ),
            Err(DecodeError::WrongType {
                header: headers::RETRY,
                expected: "an integer"
            })
        );
        assert!(matches!(
            check(
                &with_header(
                    &good,
                    headers::PRIORITY,
                    AMQPValue::LongString("urgent".into())
                ),
                b""
            ),
            Err(DecodeError::InvalidValue {
                header: headers::PRIORITY,
                ..
            })
        ));
        assert!(matches!(
            check(
                &with_header(&good, headers::RETRY, AMQPValue::LongLongInt(-1)),
                b""
            ),
            Err(DecodeError::InvalidValue {
                header: headers::RETRY,
                ..
            })
        ));
        assert!(matches!(
            check(
                &with_header(
                    &good,
                    headers::RUN_AT,
                    AMQPValue::LongString("tomorrow".into())
                ),
                b""
            ),
            Err(DecodeError::InvalidValue {
                header: headers::RUN_AT,
                ..
            })
        ));
        let no_name: FieldTable = good
            .headers()
            .as_ref()
            .map(|h| {
                h.inner()
                    .iter()
                    .filter(|(k, _)| k.as_str() != headers::TASK_NAME)
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<std::collections::BTreeMap<_, _>>()
                    .into()
            })
            .unwrap_or_default();
        assert_eq!(
            check(&good.clone().with_headers(no_name), b""),
            Err(DecodeError::MissingHeader(headers::TASK_NAME))
        );
    }

    fn header_of(props: &BasicProperties, key: &str, value: &str) -> BasicProperties {
        with_header(props, key, AMQPValue::LongString(value.into()))
    }

    fn rejected_header(props: &BasicProperties) -> Option<&'static str> {
        match decode(props, b"", &Limits::default(), Utc::now()) {
            Err(DecodeError::InvalidValue { header, .. }) => Some(header),
            _ => None,
        }
    }

    #[test]
    fn producer_times_far_from_the_time_of_receipt_are_refused() {
        let good = encode(&sample());
        for created_at in ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z"] {
            let props = header_of(&good, headers::CREATED_AT, created_at);
            assert_eq!(
                rejected_header(&props),
                Some(headers::CREATED_AT),
                "{created_at}"
            );
        }
        let props = header_of(&good, headers::RUN_AT, "9999-12-31T23:59:59Z");
        assert_eq!(rejected_header(&props), Some(headers::RUN_AT));
        let skewed = (Utc::now() + chrono::Duration::minutes(1)).to_rfc3339();
        let props = header_of(&good, headers::CREATED_AT, &skewed);
        assert!(
            decode(&props, b"", &Limits::default(), Utc::now()).is_ok(),
            "a minute of skew is fine"
        );
    }

    #[test]
    fn malformed_workflow_links_and_hostile_step_names_are_refused() {
        let task = sample();
        let good = encode(&task);
        let workflow = uuid::Uuid::now_v7();
        let step = |name: &str| serde_json::json!({"name": name, "priority": "Low", "retry": 0, "timeout_ms": null});
        let chord_member = serde_json::json!({
            "workflow_id": workflow, "kind": "chord", "size": 2, "index": 0,
            "callback_id": uuid::Uuid::now_v7(), "then": [step("cb"), step("cb2")]
        });
        let hostile_chain = serde_json::json!({
            "workflow_id": workflow, "kind": "chain", "size": 2, "index": 0,
            "then": [step("\u{1b}]0;pwned\u{7}\r\nfake line")]
        });
        for link in [chord_member, hostile_chain] {
            let props = header_of(&good, headers::WORKFLOW, &link.to_string());
            assert_eq!(rejected_header(&props), Some(headers::WORKFLOW), "{link}");
        }
        let fine_chain = serde_json::json!({
            "workflow_id": workflow, "kind": "chain", "size": 2, "index": 0,
            "then": [step("next.step")]
        });
        let props = header_of(&good, headers::WORKFLOW, &fine_chain.to_string());
        assert!(decode(&props, b"", &Limits::default(), Utc::now()).is_ok());
    }
}
