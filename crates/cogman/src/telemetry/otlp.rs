//! The OTLP/HTTP exporter: ended spans go through a bounded channel to one background task,
//! which posts them in batches as OTLP JSON (`ExportTraceServiceRequest`, content type
//! `application/json`) to `{endpoint}/v1/traces`. The worker's path only pays a `try_send`;
//! a full channel (collector down or too slow) drops spans and counts them, never blocks.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use cogman_core::{SpanId, TraceContext};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use super::{AttributeValue, SpanKind};

/// Spans waiting for export before new ones are dropped.
const QUEUE_CAPACITY: usize = 4096;
/// Most spans in one request.
const MAX_BATCH: usize = 512;
/// How long an ended span may wait for its batch to fill.
const EXPORT_INTERVAL: Duration = Duration::from_secs(1);
/// How long one export request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why an OTLP exporter could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtlpError {
    /// The endpoint is not an `http://` or `https://` URL.
    #[error("otlp_endpoint {0:?} is not an http:// or https:// URL")]
    InvalidEndpoint(String),
    /// The HTTP client could not be built.
    #[error("cannot build the OTLP HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// A span that ended, as the exporter sends it.
#[derive(Debug)]
pub(super) struct EndedSpan {
    pub(super) context: TraceContext,
    pub(super) parent: Option<SpanId>,
    pub(super) name: &'static str,
    pub(super) kind: SpanKind,
    pub(super) start: SystemTime,
    pub(super) end: SystemTime,
    pub(super) attributes: Vec<(&'static str, AttributeValue)>,
    pub(super) error: Option<String>,
}

enum Message {
    Span(Box<EndedSpan>),
    /// Export what came before, then answer.
    Flush(oneshot::Sender<()>),
}

/// The sending side of the export task.
#[derive(Debug)]
pub(super) struct Exporter {
    queue: mpsc::Sender<Message>,
    dropped: AtomicU64,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Span(span) => f.debug_tuple("Span").field(&span.name).finish(),
            Message::Flush(_) => f.write_str("Flush"),
        }
    }
}

impl Exporter {
    pub(super) fn start(endpoint: &str, service_name: &str) -> Result<Self, OtlpError> {
        let url = traces_url(endpoint)?;
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        let (queue, spans) = mpsc::channel(QUEUE_CAPACITY);
        let resource = resource(service_name);
        tokio::spawn(export_loop(spans, http, url, resource));
        Ok(Exporter {
            queue,
            dropped: AtomicU64::new(0),
        })
    }

    pub(super) fn export(&self, span: EndedSpan) {
        if self.queue.try_send(Message::Span(Box::new(span))).is_err() {
            let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped.is_power_of_two() {
                tracing::warn!(
                    dropped,
                    "the OTLP export queue is full (collector down or slow); spans are dropped"
                );
            }
        }
    }

    pub(super) async fn flush(&self) {
        let (done, answered) = oneshot::channel();
        if self.queue.send(Message::Flush(done)).await.is_ok() {
            let _ = answered.await;
        }
    }
}

/// `{endpoint}/v1/traces`, or the endpoint itself when it already names that path.
fn traces_url(endpoint: &str) -> Result<String, OtlpError> {
    let endpoint = endpoint.trim();
    if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
        return Err(OtlpError::InvalidEndpoint(endpoint.to_owned()));
    }
    let base = endpoint.trim_end_matches('/');
    Ok(if base.ends_with("/v1/traces") {
        base.to_owned()
    } else {
        format!("{base}/v1/traces")
    })
}

async fn export_loop(
    mut spans: mpsc::Receiver<Message>,
    http: reqwest::Client,
    url: String,
    resource: Value,
) {
    let mut batch = Vec::new();
    let mut ticker = tokio::time::interval(EXPORT_INTERVAL);
    loop {
        tokio::select! {
            message = spans.recv() => match message {
                Some(Message::Span(span)) => {
                    batch.push(encode_span(&span));
                    if batch.len() >= MAX_BATCH {
                        post(&http, &url, &resource, &mut batch).await;
                    }
                }
                Some(Message::Flush(done)) => {
                    post(&http, &url, &resource, &mut batch).await;
                    let _ = done.send(());
                }
                None => {
                    post(&http, &url, &resource, &mut batch).await;
                    return;
                }
            },
            _ = ticker.tick() => post(&http, &url, &resource, &mut batch).await,
        }
    }
}

/// Sends `batch` (emptying it); a failure is logged and the batch dropped, as OTLP exporters
/// do: spans are diagnostics, not data to retry forever.
async fn post(http: &reqwest::Client, url: &str, resource: &Value, batch: &mut Vec<Value>) {
    if batch.is_empty() {
        return;
    }
    let spans = std::mem::take(batch);
    let count = spans.len();
    let body = json!({
        "resourceSpans": [{
            "resource": resource,
            "scopeSpans": [{
                "scope": {"name": "cogman", "version": env!("CARGO_PKG_VERSION")},
                "spans": spans,
            }],
        }],
    });
    match http.post(url).json(&body).send().await {
        Ok(answer) if answer.status().is_success() => {}
        Ok(answer) => {
            tracing::warn!(status = %answer.status(), count, url, "the OTLP collector refused spans");
        }
        Err(error) => tracing::warn!(%error, count, url, "could not export spans over OTLP"),
    }
}

fn resource(service_name: &str) -> Value {
    json!({
        "attributes": [
            attribute("service.name", &AttributeValue::Text(service_name.to_owned())),
            attribute("process.pid", &AttributeValue::Int(i64::from(std::process::id()))),
        ],
    })
}

fn attribute(key: &str, value: &AttributeValue) -> Value {
    // OTLP JSON writes 64-bit integers as decimal strings.
    let value = match value {
        AttributeValue::Text(text) => json!({"stringValue": text}),
        AttributeValue::Int(int) => json!({"intValue": int.to_string()}),
    };
    json!({"key": key, "value": value})
}

fn unix_nanos(at: SystemTime) -> String {
    at.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
        .to_string()
}

/// One span as OTLP JSON: ids in lower-case hex, times as decimal nanosecond strings, kind
/// and status code as the protocol's enum numbers.
fn encode_span(span: &EndedSpan) -> Value {
    let kind = match span.kind {
        SpanKind::Internal => 1,
        SpanKind::Client => 3,
        SpanKind::Producer => 4,
        SpanKind::Consumer => 5,
    };
    let status = match &span.error {
        None => json!({"code": 0}),
        Some(message) => json!({"code": 2, "message": message}),
    };
    let mut encoded = json!({
        "traceId": span.context.trace_id.to_string(),
        "spanId": span.context.span_id.to_string(),
        "name": span.name,
        "kind": kind,
        "startTimeUnixNano": unix_nanos(span.start),
        "endTimeUnixNano": unix_nanos(span.end),
        "attributes": span.attributes.iter().map(|(k, v)| attribute(k, v)).collect::<Vec<_>>(),
        "status": status,
    });
    if let Some(parent) = span.parent {
        encoded["parentSpanId"] = json!(parent.to_string());
    }
    if let Some(state) = &span.context.state {
        encoded["traceState"] = json!(state);
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_added_once() {
        assert_eq!(
            traces_url("http://127.0.0.1:4318").expect("valid"),
            "http://127.0.0.1:4318/v1/traces"
        );
        assert_eq!(
            traces_url("https://otel.example/v1/traces/").expect("valid"),
            "https://otel.example/v1/traces"
        );
        assert!(matches!(
            traces_url("127.0.0.1:4318"),
            Err(OtlpError::InvalidEndpoint(_))
        ));
    }

    #[test]
    fn spans_encode_as_otlp_json() {
        let context = TraceContext::parse(
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            Some("congo=t61rcWkgMzE"),
        )
        .expect("valid");
        let at = SystemTime::UNIX_EPOCH + Duration::from_nanos(1_500);
        let span = EndedSpan {
            context,
            parent: Some(SpanId([1, 2, 3, 4, 5, 6, 7, 8])),
            name: "cogman.run",
            kind: SpanKind::Internal,
            start: at,
            end: at,
            attributes: vec![("cogman.task.attempt", AttributeValue::Int(2))],
            error: Some("boom".into()),
        };
        let encoded = encode_span(&span);
        assert_eq!(encoded["traceId"], "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(encoded["spanId"], "b7ad6b7169203331");
        assert_eq!(encoded["parentSpanId"], "0102030405060708");
        assert_eq!(encoded["traceState"], "congo=t61rcWkgMzE");
        assert_eq!(encoded["startTimeUnixNano"], "1500");
        assert_eq!(encoded["kind"], 1);
        assert_eq!(encoded["status"]["code"], 2);
        assert_eq!(
            encoded["attributes"][0]["value"]["intValue"], "2",
            "64-bit integers are strings in OTLP JSON"
        );
    }
}
