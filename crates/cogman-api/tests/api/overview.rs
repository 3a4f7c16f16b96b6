//! `GET /queues`, `GET /workers`, `GET /counts` and `GET /healthz` against the real embedded
//! backend.

use axum::body::Body;
use axum::http::Request;
use cogman::{TaskError, handler_fn};
use cogman_api::ApiOptions;
use serde_json::json;

use crate::common::Harness;

#[tokio::test]
async fn queues_show_ready_tasks_per_priority() {
    let api = Harness::open().await;
    api.send(json!({"name": "a", "priority": "High"})).await;
    api.send(json!({"name": "b"})).await;
    api.send(json!({"name": "c", "delay_ms": 600_000})).await;
    let list = api.get_json("/api/v1/queues").await;
    assert_eq!(list["supported"], true);
    let queues = list["queues"].as_array().expect("queues");
    let sum = |field: &str| {
        queues
            .iter()
            .map(|q| q[field].as_u64().expect("a count"))
            .sum::<u64>()
    };
    assert_eq!(sum("ready"), 2, "{list}");
    assert_eq!(sum("scheduled"), 1, "{list}");
    let high: u64 = queues
        .iter()
        .filter(|q| q["priority"] == "High")
        .map(|q| q["ready"].as_u64().expect("n"))
        .sum();
    assert_eq!(high, 1, "{list}");
    api.stop().await;
}

#[tokio::test]
async fn workers_lists_a_live_worker() {
    let register = |worker: &cogman::Worker| {
        worker
            .register(
                "noop",
                handler_fn(|_ctx, _payload: Vec<u8>| async move { Ok::<_, TaskError>(Vec::new()) }),
            )
            .expect("registered");
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let config = cogman::Config::embedded(dir.path().join("cogman.db"));
    let api = Harness::from_config(config, ApiOptions::default(), Some(&register)).await;
    let worker_id = api.wait_worker_listed().await;
    let list = api.get_json("/api/v1/workers").await;
    assert_eq!(list["supported"], true);
    let me = list["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .find(|w| w["id"] == worker_id.as_str())
        .cloned();
    let me = me.expect("listed");
    assert_eq!(me["handlers"], json!(["noop"]));
    assert_eq!(me["pid"], std::process::id());
    api.stop().await;
}

#[tokio::test]
async fn counts_bucket_tasks_by_current_state() {
    let api = Harness::open().await;
    let ids = [
        api.send(json!({"name": "a"})).await,
        api.send(json!({"name": "b"})).await,
        api.send(json!({"name": "c"})).await,
    ];
    api.post(&format!("/api/v1/tasks/{}/cancel", ids[0]))
        .await
        .expect(200);
    let from = (chrono::Utc::now() - chrono::TimeDelta::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let to = (chrono::Utc::now() + chrono::TimeDelta::hours(1)).format("%Y-%m-%dT%H:%M:%SZ");
    let counts = api
        .get_json(&format!("/api/v1/counts?from={from}&to={to}&interval=30m"))
        .await;
    assert_eq!(counts["interval_secs"], 1800);
    let buckets = counts["buckets"].as_array().expect("buckets");
    let total: u64 = buckets
        .iter()
        .map(|b| b["total"].as_u64().expect("total"))
        .sum();
    assert_eq!(total, 3, "{counts}");
    let cancelled: u64 = buckets
        .iter()
        .map(|b| b["counts"]["cancelled"].as_u64().expect("n"))
        .sum();
    let queued: u64 = buckets
        .iter()
        .map(|b| b["counts"]["queued"].as_u64().expect("n"))
        .sum();
    assert_eq!((cancelled, queued), (1, 2));
    assert_eq!(
        buckets[0]["counts"].as_object().expect("counts").len(),
        cogman::TaskState::ALL.len()
    );

    let defaults = api.get_json("/api/v1/counts").await;
    assert_eq!(defaults["interval_secs"], 86_400);
    let total: u64 = defaults["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["total"].as_u64().expect("n"))
        .sum();
    assert_eq!(total, 3);
    api.stop().await;
}

#[tokio::test]
async fn healthz_needs_no_token_and_reveals_nothing() {
    let api = Harness::with_tokens().await;
    let reply = api
        .call_raw(
            Request::get("/api/v1/healthz")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect(200);
    assert_eq!(reply.json(), json!({"status": "ok"}));
    api.stop().await;
}
