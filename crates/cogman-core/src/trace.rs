//! [`TraceContext`]: the W3C trace context (`traceparent`, `tracestate`) a task carries from
//! the span that sent it to the worker that runs it, so the run joins the sender's trace.
//! Parsing follows the W3C Trace Context recommendation (version `00`); a header that does not
//! parse is dropped (the task then starts a new trace), never an error for the task.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest `tracestate` kept, in bytes (the recommendation's 32 members of at most 256 bytes
/// each would be larger, but vendors are told to keep it well below 512).
pub const MAX_TRACESTATE_BYTES: usize = 512;

/// A 16-byte trace id (never all zeros).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceId(pub [u8; 16]);

/// An 8-byte span id (never all zeros).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SpanId(pub [u8; 8]);

/// Random bytes, not all zero (an all-zero id is invalid).
fn random_id<const N: usize>() -> [u8; N] {
    loop {
        let id: [u8; N] = rand::random();
        if id != [0; N] {
            return id;
        }
    }
}

impl TraceId {
    /// A random trace id.
    pub fn random() -> Self {
        TraceId(random_id())
    }
}

impl SpanId {
    /// A random span id.
    pub fn random() -> Self {
        SpanId(random_id())
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
}

/// Lower-case hex of exactly `N` bytes; `None` for anything else (upper case included, as
/// the recommendation requires).
fn parse_hex<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N
        || !text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Where a task's trace continues: the span that sent it (or ran its previous attempt), its
/// trace, whether that trace is sampled, and the vendors' `tracestate`, passed on unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    /// The trace the task belongs to.
    pub trace_id: TraceId,
    /// The span the task's next spans are children of.
    pub span_id: SpanId,
    /// The `sampled` flag (bit 0 of `trace-flags`).
    pub sampled: bool,
    /// The `tracestate` header, if any (at most [`MAX_TRACESTATE_BYTES`]).
    pub state: Option<String>,
}

impl TraceContext {
    /// A new sampled trace with a random root span id.
    pub fn new_root() -> Self {
        TraceContext {
            trace_id: TraceId::random(),
            span_id: SpanId::random(),
            sampled: true,
            state: None,
        }
    }

    /// A new span of the same trace (a random span id; flags and state kept).
    pub fn child(&self) -> Self {
        TraceContext {
            span_id: SpanId::random(),
            ..self.clone()
        }
    }

    /// Parses a `traceparent` header (and the `tracestate` that came with it). `None` when the
    /// header is not a valid version-`00` traceparent (or a later version's first four
    /// fields), or names an all-zero id. An over-long or non-ASCII `tracestate` is dropped.
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<Self> {
        let traceparent = traceparent.trim();
        let mut fields = traceparent.split('-');
        let version = parse_hex::<1>(fields.next()?)?[0];
        let trace_id = parse_hex::<16>(fields.next()?)?;
        let span_id = parse_hex::<8>(fields.next()?)?;
        let flags = parse_hex::<1>(fields.next()?)?[0];
        // Version 00 has exactly four fields; version ff is invalid; a later version may
        // append fields, which are ignored.
        if version == 0xff || (version == 0 && fields.next().is_some()) {
            return None;
        }
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        let state = tracestate
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= MAX_TRACESTATE_BYTES)
            .filter(|s| s.bytes().all(|b| (0x20..0x7f).contains(&b)))
            .map(str::to_owned);
        Some(TraceContext {
            trace_id: TraceId(trace_id),
            span_id: SpanId(span_id),
            sampled: flags & 1 == 1,
            state,
        })
    }

    /// The `traceparent` header: `00-{trace id}-{span id}-{flags}`.
    pub fn traceparent(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            self.trace_id,
            self.span_id,
            u8::from(self.sampled)
        )
    }
}

/// How a task record stores its trace context: the two headers, as text.
#[derive(Serialize, Deserialize)]
struct StoredTrace {
    traceparent: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tracestate: Option<String>,
}

impl Serialize for TraceContext {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        StoredTrace {
            traceparent: self.traceparent(),
            tracestate: self.state.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for TraceContext {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let stored = StoredTrace::deserialize(d)?;
        TraceContext::parse(&stored.traceparent, stored.tracestate.as_deref())
            .ok_or_else(|| serde::de::Error::custom("invalid traceparent"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

    #[test]
    fn the_recommendations_example_round_trips() {
        let ctx = TraceContext::parse(EXAMPLE, Some("congo=t61rcWkgMzE")).expect("valid");
        assert_eq!(ctx.trace_id.to_string(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(ctx.span_id.to_string(), "b7ad6b7169203331");
        assert!(ctx.sampled);
        assert_eq!(ctx.traceparent(), EXAMPLE);
        assert_eq!(ctx.state.as_deref(), Some("congo=t61rcWkgMzE"));
        let json = serde_json::to_string(&ctx).expect("serializes");
        let back: TraceContext = serde_json::from_str(&json).expect("deserializes");
        assert_eq!(back, ctx);
    }

    #[test]
    fn invalid_headers_are_refused() {
        for bad in [
            "",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
            "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
            "00-00000000000000000000000000000000-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
            "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
            "0-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        ] {
            assert_eq!(TraceContext::parse(bad, None), None, "{bad:?}");
        }
    }

    #[test]
    fn a_later_version_keeps_its_first_four_fields() {
        let ctx = TraceContext::parse(
            "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00-more",
            Some(&"x".repeat(MAX_TRACESTATE_BYTES + 1)),
        )
        .expect("valid");
        assert!(!ctx.sampled);
        assert_eq!(ctx.state, None, "an over-long tracestate is dropped");
    }

    #[test]
    fn a_child_keeps_the_trace_and_gets_a_new_span() {
        let root = TraceContext::new_root();
        let child = root.child();
        assert_eq!(child.trace_id, root.trace_id);
        assert_ne!(child.span_id, root.span_id);
    }
}
