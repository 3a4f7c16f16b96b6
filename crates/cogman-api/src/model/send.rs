//! The bodies of writes: [`SendTaskRequest`] (checked and turned into a [`TaskSpec`] before
//! anything is written), [`RetryRequest`] and the answer to both, [`SendResponse`].

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use cogman::{Priority, SendReceipt, TaskId, TaskSpec};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::names::{PriorityName, SendStatusName};
use crate::error::ApiError;

/// A task to send. Give the payload as any JSON value (`payload`, sent as its JSON text) or
/// as bytes (`payload_base64`), not both; neither means an empty payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendTaskRequest {
    /// The handler name: 1 to 200 bytes, no control characters.
    #[schema(
        example = "email.send",
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$"
    )]
    pub name: String,
    /// The named queue: 1 to 64 characters among `A-Z a-z 0-9 _ . -`; default `default`.
    /// Only workers serving that queue run the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        example = "default",
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9_.-]+$"
    )]
    pub queue: Option<String>,
    /// The payload as JSON; the handler receives its JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// The payload as standard base64, for bytes that are not JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Byte)]
    pub payload_base64: Option<String>,
    /// High or Low (any case); default Low.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<PriorityName>)]
    pub priority: Option<String>,
    /// Run no earlier than this many milliseconds from now. Not with `run_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 31_536_000_000_i64)]
    pub delay_ms: Option<i64>,
    /// Run no earlier than this time (RFC 3339). Not with `delay_ms`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_at: Option<DateTime<Utc>>,
    /// Retries after a failure; default 0, at most 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(maximum = 100)]
    pub retry: Option<u32>,
    /// A key to trace the task by: at most 200 bytes, no control characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub primary_key: Option<String>,
    /// Handler timeout in milliseconds (at least 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub timeout_ms: Option<u64>,
    /// At most one live task holds this key: a send with a key already held answers 200 with
    /// the holder's id and `deduplicated: true`, and sends nothing. 1 to 200 bytes, no control
    /// characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\u0000-\u001F\u007F-\u009F]+$"
    )]
    pub unique_key: Option<String>,
    /// Hold `unique_key` for this many milliseconds from the send, even after the task
    /// finished; without it the key is held until the task (every attempt of it) ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 31_536_000_000_i64)]
    pub unique_for_ms: Option<u64>,
}

impl SendTaskRequest {
    /// A request carrying `spec` exactly (payload as base64), for clients of the API.
    pub fn from_spec(spec: &TaskSpec) -> Self {
        SendTaskRequest {
            name: spec.name.clone(),
            queue: Some(spec.queue.clone()),
            payload: None,
            payload_base64: (!spec.payload.is_empty()).then(|| STANDARD.encode(&spec.payload)),
            priority: Some(spec.priority.as_str().to_owned()),
            delay_ms: None,
            run_at: spec.run_at,
            retry: Some(spec.retry),
            primary_key: spec.primary_key.clone(),
            timeout_ms: spec
                .timeout
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
            unique_key: spec.unique_key.clone(),
            unique_for_ms: spec
                .unique_for
                .map(|t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    /// The task this request describes. Field limits (name, sizes, retry) are checked later by
    /// the client; this checks what only the API knows.
    ///
    /// # Errors
    /// [`ApiError::InvalidField`] for a bad priority, payload or time.
    pub fn into_spec(self, now: DateTime<Utc>) -> Result<TaskSpec, ApiError> {
        let payload = payload_bytes(self.payload, self.payload_base64)?;
        let mut spec = TaskSpec::new(self.name, payload).retry(self.retry.unwrap_or(0));
        if let Some(queue) = self.queue {
            spec = spec.queue(queue);
        }
        if let Some(priority) = self.priority {
            spec = spec.priority(
                priority
                    .parse::<Priority>()
                    .map_err(|e| invalid(e.to_string()))?,
            );
        }
        match (self.delay_ms, self.run_at) {
            (Some(_), Some(_)) => return Err(invalid("give delay_ms or run_at, not both")),
            (Some(ms), None) if ms < 0 => return Err(invalid("delay_ms must not be negative")),
            (Some(ms), None) => {
                let at = chrono::TimeDelta::try_milliseconds(ms)
                    .and_then(|delay| now.checked_add_signed(delay))
                    .ok_or_else(|| invalid("delay_ms is too long"))?;
                spec = spec.run_at(at);
            }
            (None, Some(at)) => spec = spec.run_at(at),
            (None, None) => {}
        }
        if let Some(key) = self.primary_key {
            spec = spec.primary_key(key);
        }
        if let Some(ms) = self.timeout_ms {
            spec = spec.timeout(Duration::from_millis(ms));
        }
        spec.unique_key = self.unique_key;
        spec.unique_for = self.unique_for_ms.map(Duration::from_millis);
        Ok(spec)
    }
}

/// The bytes of a payload given as JSON (its text) or as base64, not both; neither is empty.
///
/// # Errors
/// [`ApiError::InvalidField`] for both, or bad base64.
pub(crate) fn payload_bytes(
    json: Option<Value>,
    base64: Option<String>,
) -> Result<Vec<u8>, ApiError> {
    match (json, base64) {
        (Some(_), Some(_)) => Err(invalid("give payload or payload_base64, not both")),
        (Some(value), None) => {
            serde_json::to_vec(&value).map_err(|e| invalid(format!("payload: {e}")))
        }
        (None, Some(text)) => STANDARD
            .decode(text.as_bytes())
            .map_err(|e| invalid(format!("payload_base64 is not base64: {e}"))),
        (None, None) => Ok(Vec::new()),
    }
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::InvalidField(message.into())
}

/// Run a finished task again: the new attempt's retry budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RetryRequest {
    /// Retries the new attempt may use after a failure of its own; default 0, at most 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(maximum = 100)]
    pub retry: Option<u32>,
}

/// The answer to a send or a retry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SendResponse {
    /// The new task's id; for a duplicate, the id of the task holding the unique key.
    pub id: Uuid,
    /// Where it is (`duplicate` when nothing was sent).
    pub status: SendStatusName,
    /// True when the task's unique key was already held: nothing was sent and `id` is the
    /// holder's.
    #[serde(default)]
    pub deduplicated: bool,
    /// Present when no live worker has a handler for the task's name on its queue: the task
    /// is accepted all the same and waits until such a worker starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl From<SendReceipt> for SendResponse {
    fn from(receipt: SendReceipt) -> Self {
        SendResponse {
            id: receipt.id.as_uuid(),
            status: receipt.status.into(),
            deduplicated: receipt.is_duplicate(),
            warning: receipt.warning,
        }
    }
}

impl From<SendResponse> for SendReceipt {
    fn from(response: SendResponse) -> Self {
        SendReceipt {
            id: TaskId::from_uuid(response.id),
            status: response.status.into(),
            warning: response.warning,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(name: &str) -> SendTaskRequest {
        SendTaskRequest {
            name: name.into(),
            ..SendTaskRequest::default()
        }
    }

    #[test]
    fn a_spec_round_trips_through_a_request() {
        let now = Utc::now();
        let spec = TaskSpec::new("t", vec![0, 1, 255])
            .priority(Priority::High)
            .retry(3)
            .primary_key("k")
            .run_at(now)
            .timeout(Duration::from_millis(1500))
            .unique_key("u")
            .unique_for(Duration::from_secs(60));
        assert_eq!(SendTaskRequest::from_spec(&spec).into_spec(now), Ok(spec));
    }

    #[test]
    fn documented_bounds_are_the_core_limits() {
        use utoipa::PartialSchema as _;
        let schema = serde_json::to_value(SendTaskRequest::schema()).expect("schema");
        let limits = cogman::Limits::default();
        let properties = &schema["properties"];
        assert_eq!(properties["name"]["maxLength"], limits.max_name_bytes);
        assert_eq!(
            properties["primary_key"]["maxLength"],
            limits.max_name_bytes
        );
        assert_eq!(properties["retry"]["maximum"], limits.max_retry);
        assert_eq!(properties["unique_key"]["maxLength"], limits.max_name_bytes);
        let max_delay_ms = u64::try_from(limits.max_delay.as_millis()).expect("fits");
        assert_eq!(properties["delay_ms"]["maximum"], max_delay_ms);
        assert_eq!(properties["unique_for_ms"]["maximum"], max_delay_ms);
        let retry = serde_json::to_value(RetryRequest::schema()).expect("schema");
        assert_eq!(retry["properties"]["retry"]["maximum"], limits.max_retry);
    }

    #[test]
    fn json_payloads_are_sent_as_their_text() {
        let spec = SendTaskRequest {
            payload: Some(serde_json::json!({"a": 1})),
            ..request("t")
        }
        .into_spec(Utc::now())
        .expect("valid");
        assert_eq!(spec.payload, b"{\"a\":1}");
    }

    #[test]
    fn contradictions_and_bad_values_are_invalid_fields() {
        let now = Utc::now();
        let cases = [
            SendTaskRequest {
                payload: Some(Value::Null),
                payload_base64: Some(String::new()),
                ..request("t")
            },
            SendTaskRequest {
                payload_base64: Some("***".into()),
                ..request("t")
            },
            SendTaskRequest {
                priority: Some("urgent".into()),
                ..request("t")
            },
            SendTaskRequest {
                delay_ms: Some(-1),
                ..request("t")
            },
            SendTaskRequest {
                delay_ms: Some(i64::MAX),
                ..request("t")
            },
            SendTaskRequest {
                delay_ms: Some(1),
                run_at: Some(now),
                ..request("t")
            },
        ];
        for case in cases {
            let error = case.clone().into_spec(now).expect_err("invalid");
            assert_eq!(error.code(), "invalid_field", "{case:?}");
        }
    }
}
