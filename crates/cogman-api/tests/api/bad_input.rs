//! Every kind of bad input gets its status and code in the one JSON error shape, never a 5xx,
//! and changes nothing in the log.

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cogman_api::ApiOptions;
use serde_json::json;

use crate::common::Harness;

const BODY_LIMIT: usize = 64 * 1024;

/// A harness with small limits: 64 KiB bodies, 1 KiB payloads.
async fn strict() -> Harness {
    let options = ApiOptions {
        body_limit: BODY_LIMIT,
        ..ApiOptions::default()
    };
    Harness::embedded(options, |config| config.max_payload_bytes = 1024).await
}

fn request(
    method: Method,
    uri: &str,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    // Marked as an API client's: these cases are about what the API says to its clients
    // (`same_site` covers requests that are not).
    let mut builder = Request::builder()
        .method(method)
        .uri(uri)
        .header(cogman_api::CLIENT_HEADER, "tests");
    if let Some(content_type) = content_type {
        builder = builder.header(header::CONTENT_TYPE, content_type);
    }
    builder.body(body.into()).expect("request")
}

fn json_post(uri: &str, body: serde_json::Value) -> Request<Body> {
    request(
        Method::POST,
        uri,
        Some("application/json"),
        body.to_string(),
    )
}

#[tokio::test]
async fn bad_input_gets_its_status_and_changes_nothing() {
    let api = strict().await;
    let queued = api.send(json!({"name": "queued"})).await;
    let finished = api.send(json!({"name": "finished"})).await;
    api.post(&format!("/api/v1/tasks/{finished}/cancel"))
        .await
        .expect(200);
    let unknown = uuid::Uuid::now_v7();
    let tasks = "/api/v1/tasks";
    let cases: Vec<(&str, Request<Body>, u16, &str)> = vec![
        (
            "truncated JSON",
            request(Method::POST, tasks, Some("application/json"), "{\"name\":"),
            400,
            "malformed_json",
        ),
        (
            "empty JSON body",
            request(Method::POST, tasks, Some("application/json"), ""),
            400,
            "malformed_json",
        ),
        (
            "text body",
            request(Method::POST, tasks, Some("text/plain"), "{\"name\":\"a\"}"),
            415,
            "unsupported_media_type",
        ),
        (
            "no content type",
            request(Method::POST, tasks, None, "{\"name\":\"a\"}"),
            415,
            "unsupported_media_type",
        ),
        (
            "body over the limit",
            json_post(
                tasks,
                json!({"name": "a", "payload": "x".repeat(BODY_LIMIT)}),
            ),
            413,
            "payload_too_large",
        ),
        (
            "unknown priority",
            json_post(tasks, json!({"name": "a", "priority": "urgent"})),
            422,
            "invalid_field",
        ),
        (
            "negative delay",
            json_post(tasks, json!({"name": "a", "delay_ms": -5})),
            422,
            "invalid_field",
        ),
        (
            "delay and run_at",
            json_post(
                tasks,
                json!({"name": "a", "delay_ms": 5, "run_at": "2030-01-01T00:00:00Z"}),
            ),
            422,
            "invalid_field",
        ),
        (
            "delay over a year",
            json_post(
                tasks,
                json!({"name": "a", "delay_ms": 400_i64 * 24 * 3600 * 1000}),
            ),
            422,
            "invalid_field",
        ),
        (
            "empty name",
            json_post(tasks, json!({"name": ""})),
            422,
            "invalid_field",
        ),
        (
            "missing name",
            json_post(tasks, json!({"payload": 1})),
            422,
            "invalid_field",
        ),
        (
            "long name",
            json_post(tasks, json!({"name": "n".repeat(201)})),
            422,
            "invalid_field",
        ),
        (
            "control character",
            json_post(tasks, json!({"name": "a\u{7}b"})),
            422,
            "invalid_field",
        ),
        (
            "payload over the limit",
            json_post(
                tasks,
                json!({"name": "a", "payload_base64": STANDARD.encode([7u8; 2048])}),
            ),
            422,
            "invalid_field",
        ),
        (
            "payload not base64",
            json_post(tasks, json!({"name": "a", "payload_base64": "%%%"})),
            422,
            "invalid_field",
        ),
        (
            "two payloads",
            json_post(
                tasks,
                json!({"name": "a", "payload": 1, "payload_base64": "AA=="}),
            ),
            422,
            "invalid_field",
        ),
        (
            "retry over the max",
            json_post(tasks, json!({"name": "a", "retry": 101})),
            422,
            "invalid_field",
        ),
        (
            "negative retry",
            json_post(tasks, json!({"name": "a", "retry": -1})),
            422,
            "invalid_field",
        ),
        (
            "zero timeout",
            json_post(tasks, json!({"name": "a", "timeout_ms": 0})),
            422,
            "invalid_field",
        ),
        (
            "bad primary key",
            json_post(tasks, json!({"name": "a", "primary_key": "a\nb"})),
            422,
            "invalid_field",
        ),
        (
            "unknown field",
            json_post(tasks, json!({"name": "a", "colour": "red"})),
            422,
            "invalid_field",
        ),
        (
            "not an object",
            json_post(tasks, json!([1, 2])),
            422,
            "invalid_field",
        ),
        (
            "malformed id",
            request(Method::GET, "/api/v1/tasks/not-a-uuid", None, ""),
            400,
            "invalid_id",
        ),
        (
            "malformed cursor",
            request(Method::GET, "/api/v1/tasks?after=bogus", None, ""),
            400,
            "invalid_cursor",
        ),
        (
            "unknown state",
            request(Method::GET, "/api/v1/tasks?status=done", None, ""),
            400,
            "invalid_query",
        ),
        (
            "zero limit",
            request(Method::GET, "/api/v1/tasks?limit=0", None, ""),
            400,
            "invalid_query",
        ),
        (
            "huge limit",
            request(Method::GET, "/api/v1/tasks?limit=1001", None, ""),
            400,
            "invalid_query",
        ),
        (
            "bad time",
            request(
                Method::GET,
                "/api/v1/tasks?created_from=yesterday",
                None,
                "",
            ),
            400,
            "invalid_query",
        ),
        (
            "unknown parameter",
            request(Method::GET, "/api/v1/tasks?colour=red", None, ""),
            400,
            "invalid_query",
        ),
        (
            "unknown id",
            request(Method::GET, &format!("/api/v1/tasks/{unknown}"), None, ""),
            404,
            "not_found",
        ),
        (
            "retry unknown",
            request(
                Method::POST,
                &format!("/api/v1/tasks/{unknown}/retry"),
                None,
                "",
            ),
            404,
            "not_found",
        ),
        (
            "cancel unknown",
            request(
                Method::POST,
                &format!("/api/v1/tasks/{unknown}/cancel"),
                None,
                "",
            ),
            404,
            "not_found",
        ),
        (
            "cancel malformed id",
            request(Method::POST, "/api/v1/tasks/x/cancel", None, ""),
            400,
            "invalid_id",
        ),
        (
            "retry budget over the max",
            json_post(
                &format!("/api/v1/tasks/{finished}/retry"),
                json!({"retry": 101}),
            ),
            422,
            "invalid_field",
        ),
        (
            "retry with bad JSON",
            request(
                Method::POST,
                &format!("/api/v1/tasks/{finished}/retry"),
                Some("application/json"),
                "{",
            ),
            400,
            "malformed_json",
        ),
        (
            "retry with text",
            request(
                Method::POST,
                &format!("/api/v1/tasks/{finished}/retry"),
                Some("text/plain"),
                "1",
            ),
            415,
            "unsupported_media_type",
        ),
        (
            "retry unfinished",
            json_post(&format!("/api/v1/tasks/{queued}/retry"), json!({})),
            409,
            "conflict",
        ),
        (
            "retry budget not a number",
            request(
                Method::POST,
                &format!("/api/v1/tasks/{finished}/retry"),
                Some("application/json"),
                "{\"retry\":\"x\"}",
            ),
            422,
            "invalid_field",
        ),
        (
            "wrong method",
            request(Method::DELETE, tasks, None, ""),
            405,
            "method_not_allowed",
        ),
        (
            "wrong method on a task",
            request(Method::PUT, &format!("/api/v1/tasks/{queued}"), None, ""),
            405,
            "method_not_allowed",
        ),
        (
            "unknown route",
            request(Method::GET, "/api/v1/nope", None, ""),
            404,
            "not_found",
        ),
        (
            "bad interval",
            request(Method::GET, "/api/v1/counts?interval=soon", None, ""),
            400,
            "invalid_query",
        ),
        (
            "zero interval",
            request(Method::GET, "/api/v1/counts?interval=0s", None, ""),
            400,
            "invalid_query",
        ),
        (
            "reversed range",
            request(
                Method::GET,
                "/api/v1/counts?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
                None,
                "",
            ),
            400,
            "invalid_query",
        ),
        (
            "too many buckets",
            request(
                Method::GET,
                "/api/v1/counts?from=2000-01-01T00:00:00Z&to=2026-01-01T00:00:00Z&interval=1s",
                None,
                "",
            ),
            400,
            "invalid_query",
        ),
        (
            "unknown count parameter",
            request(Method::GET, "/api/v1/counts?colour=red", None, ""),
            400,
            "invalid_query",
        ),
    ];
    let before = api.snapshot().await;
    assert_eq!(before.len(), 2);
    for (what, request, status, code) in cases {
        let reply = api.call(request).await;
        assert_eq!(reply.status.as_u16(), status, "{what}: {}", reply.text());
        assert_eq!(reply.code(), code, "{what}");
        assert!(
            reply.json()["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{what}: a message"
        );
        let content_type = reply
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok());
        assert_eq!(content_type, Some("application/json"), "{what}");
        assert_eq!(
            reply
                .headers
                .get("x-content-type-options")
                .and_then(|v| v.to_str().ok()),
            Some("nosniff"),
            "{what}"
        );
        assert_eq!(api.snapshot().await, before, "{what} changed the log");
    }
    api.stop().await;
}

#[tokio::test]
async fn an_oversized_declared_body_is_refused_before_it_is_read() {
    let api = strict().await;
    // A body that never ends: reading it would hang until the request timeout.
    let body = Body::from_stream(futures::stream::pending::<Result<Bytes, std::io::Error>>());
    let request = Request::post("/api/v1/tasks")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CONTENT_LENGTH, (BODY_LIMIT + 1).to_string())
        .body(body)
        .expect("request");
    let reply = tokio::time::timeout(std::time::Duration::from_secs(5), api.call(request))
        .await
        .expect("answered without reading the body")
        .expect(413);
    assert_eq!(reply.code(), "payload_too_large");
    assert!(api.snapshot().await.is_empty());
    api.stop().await;
}
