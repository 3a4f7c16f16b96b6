//! Distributed tracing: the spans a task's life makes — `cogman.send`, `cogman.publish`,
//! `cogman.consume`, `cogman.run`, `cogman.record` — in the trace whose W3C context the task
//! carries ([`TraceContext`], `traceparent`/`tracestate` in the message), exported over
//! OTLP/HTTP when an `otlp_endpoint` is configured ([`otlp`]).
//!
//! A [`Tracer`] without an endpoint records nothing: starting a span then only hands the
//! parent's context on (so a trace that came in with a task still reaches its handler and the
//! tasks it causes), with no clock read, allocation of span data or channel send.

mod otlp;

use std::sync::Arc;
use std::time::SystemTime;

use cogman_core::{SpanId, Task, TraceContext};

pub use otlp::OtlpError;

/// The role of a span, as OTLP names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpanKind {
    /// Work inside the process (the handler's run).
    Internal,
    /// A call to a backend (the broker publish, the task log record).
    Client,
    /// Making a message for later processing (the send).
    Producer,
    /// Taking a message for processing (the consume).
    Consumer,
}

/// Starts spans and, when exporting, hands the ended ones to the OTLP exporter. Cheap to
/// clone; clones share the exporter.
#[derive(Debug, Clone, Default)]
pub struct Tracer {
    exporter: Option<Arc<otlp::Exporter>>,
}

impl Tracer {
    /// A tracer that records nothing (the default).
    pub fn disabled() -> Self {
        Tracer::default()
    }

    /// A tracer exporting to the OTLP/HTTP collector at `endpoint` (its base URL, such as
    /// `http://127.0.0.1:4318`; `/v1/traces` is added unless the URL already ends with it),
    /// naming the process `service_name`. Starts the export task: call inside a Tokio runtime.
    ///
    /// # Errors
    /// [`OtlpError`] when the endpoint is not an `http`/`https` URL or no HTTP client can be
    /// built.
    pub fn otlp(endpoint: &str, service_name: &str) -> Result<Self, OtlpError> {
        Ok(Tracer {
            exporter: Some(Arc::new(otlp::Exporter::start(endpoint, service_name)?)),
        })
    }

    /// Whether spans are recorded and exported.
    pub fn is_enabled(&self) -> bool {
        self.exporter.is_some()
    }

    /// Starts span `name` of `task`, a child of `parent` (a new trace when `None`). Ends when
    /// dropped.
    pub(crate) fn start(
        &self,
        name: &'static str,
        kind: SpanKind,
        parent: Option<&TraceContext>,
        task: &Task,
    ) -> Span {
        let Some(exporter) = &self.exporter else {
            return Span {
                context: parent.cloned(),
                recording: None,
            };
        };
        let context = parent.map_or_else(TraceContext::new_root, TraceContext::child);
        let recording = Recording {
            exporter: Arc::clone(exporter),
            name,
            kind,
            parent: parent.map(|p| p.span_id),
            start: SystemTime::now(),
            attributes: task_attributes(task),
            error: None,
        };
        Span {
            context: Some(context),
            recording: Some(recording),
        }
    }

    /// Exports every span ended so far (waits for the collector's answer, or its failure).
    /// Called by [`crate::Client::close`], so a short-lived process loses no span.
    pub async fn flush(&self) {
        if let Some(exporter) = &self.exporter {
            exporter.flush().await;
        }
    }
}

/// The attributes every span of a task carries.
fn task_attributes(task: &Task) -> Vec<(&'static str, AttributeValue)> {
    vec![
        ("cogman.task.id", AttributeValue::Text(task.id.to_string())),
        ("cogman.task.name", AttributeValue::Text(task.name.clone())),
        (
            "cogman.task.attempt",
            AttributeValue::Int(i64::from(task.attempt)),
        ),
        ("cogman.queue", AttributeValue::Text(task.queue.clone())),
        (
            "cogman.task.original_id",
            AttributeValue::Text(task.original_task_id.to_string()),
        ),
    ]
}

/// A span attribute's value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AttributeValue {
    Text(String),
    Int(i64),
}

/// A started span: its context (what children and messages carry) and, when exporting, what
/// it records. Ends, and is handed to the exporter, when dropped.
#[derive(Debug)]
pub(crate) struct Span {
    context: Option<TraceContext>,
    recording: Option<Recording>,
}

#[derive(Debug)]
struct Recording {
    exporter: Arc<otlp::Exporter>,
    name: &'static str,
    kind: SpanKind,
    parent: Option<SpanId>,
    start: SystemTime,
    attributes: Vec<(&'static str, AttributeValue)>,
    error: Option<String>,
}

impl Span {
    /// The context children of this span (and the message it sends) carry: its own when
    /// recording, else its parent's.
    pub(crate) fn context(&self) -> Option<TraceContext> {
        self.context.clone()
    }

    /// Adds an attribute (nothing when not recording).
    pub(crate) fn set(&mut self, key: &'static str, value: impl FnOnce() -> String) {
        if let Some(recording) = &mut self.recording {
            recording
                .attributes
                .push((key, AttributeValue::Text(value())));
        }
    }

    /// Marks the span failed with `message` (its status becomes ERROR).
    pub(crate) fn fail(&mut self, message: impl std::fmt::Display) {
        if let Some(recording) = &mut self.recording {
            recording.error = Some(message.to_string());
        }
    }
}

impl Drop for Span {
    fn drop(&mut self) {
        let (Some(recording), Some(context)) = (self.recording.take(), self.context.take()) else {
            return;
        };
        recording.exporter.export(otlp::EndedSpan {
            context,
            parent: recording.parent,
            name: recording.name,
            kind: recording.kind,
            start: recording.start,
            end: SystemTime::now(),
            attributes: recording.attributes,
            error: recording.error,
        });
    }
}
