//! The OpenAPI document covers the router: every documented operation is served, every other
//! method on a documented path is 405 (so the router has no undocumented operation there), and
//! every endpoint of the API is documented. The served document is the generated one.

use axum::body::Body;
use axum::http::{Method, Request};
use serde_json::Value;
use tower::ServiceExt as _;

use crate::common::Harness;

/// Every endpoint the API offers.
const ENDPOINTS: [(&str, &str); 28] = [
    ("post", "/api/v1/tasks"),
    ("get", "/api/v1/tasks"),
    ("get", "/api/v1/tasks/{id}"),
    ("get", "/api/v1/search"),
    ("post", "/api/v1/tasks/{id}/retry"),
    ("post", "/api/v1/tasks/{id}/cancel"),
    ("post", "/api/v1/tasks/bulk"),
    ("get", "/api/v1/dead-letters"),
    ("delete", "/api/v1/dead-letters"),
    ("post", "/api/v1/dead-letters/{id}/requeue"),
    ("delete", "/api/v1/dead-letters/{id}"),
    ("get", "/api/v1/schedules"),
    ("post", "/api/v1/schedules"),
    ("get", "/api/v1/schedules/{id}"),
    ("delete", "/api/v1/schedules/{id}"),
    ("post", "/api/v1/schedules/{id}/pause"),
    ("post", "/api/v1/schedules/{id}/resume"),
    ("get", "/api/v1/queues"),
    ("get", "/api/v1/named-queues"),
    ("post", "/api/v1/named-queues/{name}/pause"),
    ("post", "/api/v1/named-queues/{name}/resume"),
    ("get", "/api/v1/workers"),
    ("get", "/api/v1/counts"),
    ("get", "/api/v1/events"),
    ("get", "/api/v1/healthz"),
    ("get", "/api/v1/whoami"),
    ("get", "/api/v1/metrics"),
    ("get", "/api/v1/openapi.json"),
];

/// The documented operation whose answer is a stream that stays open.
const STREAM: &str = "/api/v1/events";

const METHODS: [&str; 7] = ["get", "post", "put", "patch", "delete", "options", "trace"];

fn operations(doc: &Value) -> Vec<(String, String)> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in METHODS {
            if item.get(method).is_some() {
                ops.push((method.to_owned(), path.clone()));
            }
        }
    }
    ops
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_is_served() {
    let api = Harness::open().await;
    let doc = serde_json::to_value(cogman_api::openapi()).expect("the document is JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let ops = operations(&doc);
    for (method, path) in ENDPOINTS {
        assert!(
            ops.contains(&(method.to_owned(), path.to_owned())),
            "{method} {path} is not documented"
        );
    }
    assert_eq!(ops.len(), ENDPOINTS.len(), "documented operations: {ops:?}");

    let some_id = uuid::Uuid::now_v7().to_string();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        assert!(path.starts_with(cogman_api::PREFIX), "{path}");
        let uri = path
            .replace("{id}", &some_id)
            .replace("{name}", "some.queue");
        for method in METHODS {
            let request = Request::builder()
                .method(Method::from_bytes(method.to_uppercase().as_bytes()).expect("method"))
                .uri(&uri)
                .body(Body::empty())
                .expect("request");
            if method == "get" && path == STREAM {
                // The live feed never ends: its head is the answer.
                let response = api.router.clone().oneshot(request).await.expect("served");
                assert_eq!(response.status(), 200, "GET {path}");
                continue;
            }
            let reply = api.call(request).await;
            let code = serde_json::from_slice::<Value>(&reply.body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned));
            if item.get(method).is_some() {
                assert_ne!(
                    code.as_deref(),
                    Some("method_not_allowed"),
                    "{method} {path} is documented but not served"
                );
                assert!(
                    !reply.text().contains("no such route"),
                    "{method} {path} is documented but not routed"
                );
            } else {
                assert_eq!(
                    reply.status.as_u16(),
                    405,
                    "{method} {path} is served but not documented: {}",
                    reply.text()
                );
            }
        }
    }
    api.stop().await;
}

#[tokio::test]
async fn the_served_document_is_the_generated_one_with_bearer_auth() {
    let api = Harness::open().await;
    let served = api.get_json("/api/v1/openapi.json").await;
    assert_eq!(
        served,
        serde_json::to_value(cogman_api::openapi()).expect("JSON")
    );
    assert_eq!(
        served["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(served["security"], serde_json::json!([{"bearer": []}]));
    assert_eq!(
        served["paths"]["/api/v1/healthz"]["get"]["security"],
        serde_json::json!([{}]),
        "healthz is open"
    );
    let errors = &served["paths"]["/api/v1/tasks"]["post"]["responses"];
    for status in ["201", "202", "400", "401", "403", "413", "415", "422"] {
        assert!(
            errors.get(status).is_some(),
            "POST /tasks documents {status}"
        );
    }
    assert!(served["components"]["schemas"]["ErrorBody"].is_object());
    api.stop().await;
}
