//! Web pages of other sites cannot use the API, with or without tokens: a cross-site form post
//! (cancel, retry), a `fetch` from a foreign `Origin`, and a DNS-rebound page (its own name in
//! `Host`) are refused and change nothing; the API's own pages and clients still work.

use axum::body::Body;
use axum::http::{Method, Request, header};
use cogman_api::ApiOptions;
use serde_json::json;

use crate::common::{Harness, Reply};

const OWN_HOST: &str = "127.0.0.1:8080";

fn request(method: Method, uri: &str, headers: &[(&str, &str)], body: &str) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::from(body.to_owned())).expect("request")
}

async fn status_of(api: &Harness, request: Request<Body>) -> Reply {
    api.call(request).await
}

async fn refuses_other_sites(api: &Harness) {
    let queued = api.send(json!({"name": "victim"})).await;
    let finished = api.send(json!({"name": "finished"})).await;
    api.post(&format!("/api/v1/tasks/{finished}/cancel"))
        .await
        .expect(200);
    let before = api.snapshot().await;
    let cancel = format!("/api/v1/tasks/{queued}/cancel");
    let retry = format!("/api/v1/tasks/{finished}/retry");
    let form = "application/x-www-form-urlencoded";
    let evil = "http://evil.example";
    let cases: Vec<(&str, Request<Body>, u16, &str)> = vec![
        (
            "a cross-site form cancels",
            request(
                Method::POST,
                &cancel,
                &[("host", OWN_HOST), ("content-type", form)],
                "",
            ),
            415,
            "unsupported_media_type",
        ),
        (
            "a text/plain cancel",
            request(
                Method::POST,
                &cancel,
                &[("content-type", "text/plain")],
                "x",
            ),
            415,
            "unsupported_media_type",
        ),
        (
            "an empty form retries",
            request(Method::POST, &retry, &[("content-type", form)], ""),
            415,
            "unsupported_media_type",
        ),
        (
            "a foreign origin cancels with the client header",
            request(
                Method::POST,
                &cancel,
                &[
                    ("host", OWN_HOST),
                    ("origin", evil),
                    ("x-cogman-client", "x"),
                ],
                "",
            ),
            403,
            "forbidden_origin",
        ),
        (
            "a foreign origin sends JSON",
            request(
                Method::POST,
                "/api/v1/tasks",
                &[
                    ("host", OWN_HOST),
                    ("origin", evil),
                    ("content-type", "application/json"),
                ],
                r#"{"name":"resize"}"#,
            ),
            403,
            "forbidden_origin",
        ),
        (
            "a foreign origin reads",
            request(
                Method::GET,
                "/api/v1/tasks",
                &[("host", OWN_HOST), ("origin", evil)],
                "",
            ),
            403,
            "forbidden_origin",
        ),
        (
            "an opaque origin",
            request(
                Method::GET,
                "/api/v1/tasks",
                &[("host", OWN_HOST), ("origin", "null")],
                "",
            ),
            403,
            "forbidden_origin",
        ),
        (
            "a rebound page reads",
            request(
                Method::GET,
                "/api/v1/tasks",
                &[
                    ("host", "evil.example:8080"),
                    ("origin", "http://evil.example:8080"),
                ],
                "",
            ),
            421,
            "unknown_host",
        ),
        (
            "a rebound page sends a task for a shell handler",
            request(
                Method::POST,
                "/api/v1/tasks",
                &[
                    ("host", "evil.example:8080"),
                    ("content-type", "application/json"),
                ],
                r#"{"name":"resize"}"#,
            ),
            421,
            "unknown_host",
        ),
        (
            "a rebound page loads the UI",
            request(Method::GET, "/ui/", &[("host", "evil.example")], ""),
            421,
            "unknown_host",
        ),
    ];
    for (what, request, status, code) in cases {
        let reply = status_of(api, request).await;
        assert_eq!(reply.status.as_u16(), status, "{what}: {}", reply.text());
        assert_eq!(reply.code(), code, "{what}");
    }
    assert_eq!(api.snapshot().await, before, "nothing changed");

    // The API's own pages and clients.
    let own = [
        request(
            Method::POST,
            &cancel,
            &[
                ("host", OWN_HOST),
                ("origin", "http://127.0.0.1:8080"),
                ("x-cogman-client", "cogman-ui"),
            ],
            "",
        ),
        request(
            Method::POST,
            &retry,
            &[
                ("host", "localhost:8080"),
                ("content-type", "application/json"),
            ],
            "{}",
        ),
        request(
            Method::GET,
            "/api/v1/tasks",
            &[("host", "[::1]:8080"), ("origin", "http://[::1]:8080")],
            "",
        ),
    ];
    for request in own {
        let reply = api.call(request).await;
        assert!(reply.status.is_success(), "{}", reply.text());
    }
}

#[tokio::test]
async fn other_sites_are_refused_without_tokens() {
    refuses_other_sites(&Harness::open().await).await;
}

#[tokio::test]
async fn other_sites_are_refused_with_tokens() {
    refuses_other_sites(&Harness::with_tokens().await).await;
}

#[tokio::test]
async fn configured_host_names_are_answered() {
    let options = ApiOptions {
        allowed_hosts: vec!["cogman.internal".into()],
        ..ApiOptions::default()
    };
    let api = Harness::embedded(options, |_| {}).await;
    let named = request(
        Method::GET,
        "/api/v1/tasks",
        &[
            ("host", "cogman.internal:8080"),
            ("origin", "http://cogman.internal:8080"),
        ],
        "",
    );
    api.call(named).await.expect(200);
    let other = request(
        Method::GET,
        "/api/v1/healthz",
        &[(header::HOST.as_str(), "other.internal")],
        "",
    );
    api.call(other).await.expect(421);
}
