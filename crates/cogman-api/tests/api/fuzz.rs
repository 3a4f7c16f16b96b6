//! A time-bounded property test of the HTTP request parsing, on each of the three task logs
//! (the embedded SQLite file, Redis, PostgreSQL): generated strings — NUL and other control
//! characters, lone surrogates (as JSON escapes and as raw bytes), arbitrary Unicode, raw
//! bytes, very long text — thrown at every query parameter, path segment and body field get a
//! 2xx or a 4xx, never a 5xx, and only accepted sends write anything.

use axum::body::Body;
use axum::http::{Request, header};
use cogman_api::ApiOptions;
use cogman_testkit::servers::SharedCleanup;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestRunner};
use serde_json::{Value, json};

use crate::common::Harness;

const REDIS: &str = "redis://127.0.0.1:6379";
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Cases per log; each case sends about 40 requests.
const CASES: u32 = 24;

/// One generated input: a string, raw bytes, and a UTF-16 surrogate with no pair.
#[derive(Debug, Clone)]
struct Hostile {
    text: String,
    bytes: Vec<u8>,
    surrogate: u32,
}

fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        proptest::collection::vec(0u8..0x20, 0..8)
            .prop_map(|codes| codes.into_iter().map(char::from).collect()),
        "[a-z]{0,4}\u{0}[a-z]{0,4}",
        "\u{1b}\\[[0-9]{1,2}m[a-z\r\n]{0,6}",
        "[a-z.]{195,205}",
        Just("x".repeat(70_000)),
        Just("9999-12-31T23:59:59Z".to_owned()),
        Just("-1".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just(String::new()),
    ]
}

fn hostile() -> impl Strategy<Value = Hostile> {
    (
        hostile_text(),
        proptest::collection::vec(any::<u8>(), 0..48),
        0xd800u32..0xe000,
    )
        .prop_map(|(text, bytes, surrogate)| Hostile {
            text,
            bytes,
            surrogate,
        })
}

/// Every byte but ASCII letters and digits as `%XX`.
fn encode(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(*b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

fn post_json(uri: &str, body: String) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("request")
}

/// The requests one input turns into: (whether it is a send, the request).
fn requests(input: &Hostile, finished: &str) -> Vec<(bool, Request<Body>)> {
    let mut out = Vec::new();
    // URIs stop at 64 KiB (the `http` crate's limit, and any server's).
    let text = input.text.as_bytes();
    let values = [encode(&text[..text.len().min(8_000)]), encode(&input.bytes)];
    for value in &values {
        for key in [
            "status",
            "name",
            "primary_key",
            "original_task_id",
            "created_from",
            "created_to",
            "limit",
            "after",
        ] {
            out.push((false, get(&format!("/api/v1/tasks?{key}={value}"))));
        }
        out.push((false, get(&format!("/api/v1/tasks?{value}=1"))));
        for key in ["from", "to", "interval"] {
            out.push((false, get(&format!("/api/v1/counts?{key}={value}"))));
        }
        out.push((false, get(&format!("/api/v1/tasks/{value}"))));
        let cancel = Request::post(format!("/api/v1/tasks/{value}/cancel"))
            .header(cogman_api::CLIENT_HEADER, "fuzz")
            .body(Body::empty())
            .expect("request");
        out.push((false, cancel));
    }
    let text = Value::String(input.text.clone());
    out.push((
        true,
        post_json("/api/v1/tasks", json!({"name": text}).to_string()),
    ));
    for field in [
        "primary_key",
        "priority",
        "payload",
        "payload_base64",
        "run_at",
        "delay_ms",
        "retry",
        "timeout_ms",
    ] {
        let body = json!({"name": "fuzz.ok", field: text});
        out.push((true, post_json("/api/v1/tasks", body.to_string())));
    }
    let mut unknown = serde_json::Map::new();
    unknown.insert("name".into(), json!("fuzz.ok"));
    unknown.insert(input.text.clone(), json!(1));
    out.push((
        true,
        post_json("/api/v1/tasks", Value::Object(unknown).to_string()),
    ));
    for field in ["name", "primary_key"] {
        let lone = format!(
            r#"{{"name":"fuzz.ok","{field}":"a\u{:04x}b"}}"#,
            input.surrogate
        );
        out.push((true, post_json("/api/v1/tasks", lone)));
    }
    let raw = [b"{\"name\":\"".as_slice(), &input.bytes, b"\"}"].concat();
    out.push((
        true,
        Request::post("/api/v1/tasks")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(raw))
            .expect("request"),
    ));
    out.push((
        true,
        post_json(
            &format!("/api/v1/tasks/{finished}/retry"),
            json!({ "retry": text }).to_string(),
        ),
    ));
    out
}

/// Runs the property against one harness; every 2xx send is counted, and the log must hold
/// exactly the tasks that were accepted.
fn never_a_server_error(runtime: &tokio::runtime::Runtime, api: &Harness) {
    let finished = runtime.block_on(async {
        let id = api.send(json!({"name": "fuzz.finished"})).await;
        api.post(&format!("/api/v1/tasks/{id}/cancel"))
            .await
            .expect(200);
        id
    });
    let before = runtime.block_on(api.snapshot()).len();
    let accepted = std::cell::Cell::new(0usize);
    let mut runner = TestRunner::new(ProptestConfig {
        cases: CASES,
        max_shrink_iters: 32,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&hostile(), |input| {
            for (is_send, request) in requests(&input, &finished) {
                let what = format!("{} {}", request.method(), request.uri());
                let reply = runtime.block_on(api.call(request));
                let status = reply.status.as_u16();
                prop_assert!(status < 500, "{what} answered {status}: {}", reply.text());
                if is_send && reply.status.is_success() {
                    accepted.set(accepted.get() + 1);
                }
            }
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{failure}"));
    let after = runtime.block_on(api.snapshot()).len();
    assert_eq!(
        after - before,
        accepted.get(),
        "only accepted sends wrote anything"
    );
    runtime.block_on(api.stop());
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn hostile_strings_never_get_a_5xx_from_the_embedded_log() {
    let runtime = runtime();
    let api = runtime.block_on(Harness::open());
    never_a_server_error(&runtime, &api);
}

#[test]
fn hostile_strings_never_get_a_5xx_from_the_redis_log() {
    let runtime = runtime();
    let unique = uuid::Uuid::now_v7().simple().to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = cogman::Config::embedded(dir.path().join("queue.db"));
    config.redis.uri = Some(REDIS.into());
    config.redis.namespace = format!("api-fuzz-{unique}");
    let _cleanup = SharedCleanup::new().redis_namespace(REDIS, &config.redis.namespace);
    let api = runtime.block_on(Harness::from_config(config, ApiOptions::default(), None));
    never_a_server_error(&runtime, &api);
}

#[test]
fn hostile_strings_never_get_a_5xx_from_the_postgres_log() {
    let runtime = runtime();
    let unique = uuid::Uuid::now_v7().simple().to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = cogman::Config::embedded(dir.path().join("queue.db"));
    config.postgres.uri = Some(POSTGRES.into());
    config.postgres.schema = format!("api_fuzz_{unique}");
    let _cleanup = SharedCleanup::new().postgres_schema(POSTGRES, &config.postgres.schema);
    let api = runtime.block_on(Harness::from_config(config, ApiOptions::default(), None));
    never_a_server_error(&runtime, &api);
}
