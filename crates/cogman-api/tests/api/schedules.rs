//! The schedule routes: add (201) and replace (200), list with next runs and the leader, get,
//! pause and resume (the next run disappears and comes back), a slot's claim shown as the
//! last run, delete (204, then 404); bad ids are 400, bad definitions 422 and store nothing,
//! and a read-only token may read but change nothing.

use axum::http::Method;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::common::{Harness, READER};

#[tokio::test]
async fn schedules_are_added_listed_paused_resumed_and_removed() {
    let api = Harness::with_tokens().await;
    let added = api
        .json(
            Method::POST,
            "/api/v1/schedules",
            &json!({"id": "nightly", "cron": "0 0 3 * * *", "timezone": "Europe/Paris",
                    "task": "report.build", "payload": {"kind": "daily"},
                    "priority": "high", "retry": 2, "missed": "catch_up=1"}),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(added["id"], "nightly");
    assert_eq!(added["cron"], "0 0 3 * * *");
    assert!(added["every"].is_null());
    assert_eq!(added["timezone"], "Europe/Paris");
    assert_eq!(added["task"], "report.build");
    assert_eq!(added["queue"], "default");
    assert_eq!(added["priority"], "High");
    assert_eq!(added["retry"], 2);
    assert_eq!(added["missed"], "catch_up = 1");
    assert_eq!(added["paused"], false);
    assert!(added["last_run"].is_null());
    // 03:00 in Paris is 01:00 or 02:00 UTC, depending on the season.
    let next: DateTime<Utc> = added["next_run"]
        .as_str()
        .expect("a next run")
        .parse()
        .expect("a time");
    assert!(next > Utc::now());
    assert!(
        matches!(
            next.format("%H:%M:%S").to_string().as_str(),
            "01:00:00" | "02:00:00"
        ),
        "{next}"
    );

    let replaced = api
        .json(
            Method::POST,
            "/api/v1/schedules",
            &json!({"id": "nightly", "every": "1h 30m", "task": "report.build", "queue": "reports"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(replaced["every"], "1h 30m");
    assert!(replaced["cron"].is_null());
    assert_eq!(replaced["queue"], "reports");

    api.json(
        Method::POST,
        "/api/v1/schedules",
        &json!({"id": "heartbeat", "every": "30s", "task": "ping"}),
    )
    .await
    .expect(201);
    let list = api.get_json("/api/v1/schedules").await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["heartbeat", "nightly"]);
    assert!(list["leader"].is_null(), "no scheduler runs here");

    // A slot claimed and sent shows as the last run.
    let store = api
        .client
        .log()
        .schedule_store()
        .expect("SQLite keeps schedules");
    let slot: DateTime<Utc> = "2026-01-01T00:00:30Z".parse().expect("slot");
    assert!(store.claim_slot("heartbeat", slot).await.expect("claim"));
    let task = cogman::TaskId::new();
    store
        .record_slot_task("heartbeat", slot, task)
        .await
        .expect("record");
    let got = api.get_json("/api/v1/schedules/heartbeat").await;
    assert_eq!(got["last_run"]["slot"], "2026-01-01T00:00:30Z");
    assert_eq!(got["last_run"]["task_id"], task.to_string());

    let paused = api
        .post("/api/v1/schedules/heartbeat/pause")
        .await
        .expect(200)
        .json();
    assert_eq!(paused["paused"], true);
    assert!(paused["next_run"].is_null());
    let resumed = api
        .post("/api/v1/schedules/heartbeat/resume")
        .await
        .expect(200)
        .json();
    assert_eq!(resumed["paused"], false);
    assert!(resumed["next_run"].is_string());

    let remove = |id: &'static str| {
        let api = &api;
        async move {
            api.call(
                axum::http::Request::delete(format!("/api/v1/schedules/{id}"))
                    .header(cogman_api::CLIENT_HEADER, "tests")
                    .body(axum::body::Body::empty())
                    .expect("request"),
            )
            .await
        }
    };
    remove("heartbeat").await.expect(204);
    remove("heartbeat").await.expect(404);
    api.get("/api/v1/schedules/heartbeat").await.expect(404);
    api.post("/api/v1/schedules/heartbeat/pause")
        .await
        .expect(404);
}

#[tokio::test]
async fn bad_schedules_are_refused_and_store_nothing() {
    let api = Harness::with_tokens().await;
    for body in [
        json!({"id": "a", "task": "t"}),
        json!({"id": "a", "task": "t", "every": "30s", "cron": "0 * * * * *"}),
        json!({"id": "a", "task": "t", "cron": "*/5 * * * *"}),
        json!({"id": "a", "task": "t", "cron": "0 0 0 30 2 *"}),
        json!({"id": "a", "task": "t", "every": "0s"}),
        json!({"id": "a", "task": "t", "every": "30s", "timezone": "Mars/Olympus"}),
        json!({"id": "a", "task": "t", "every": "30s", "missed": "later"}),
        json!({"id": "has space", "task": "t", "every": "30s"}),
        json!({"id": "a", "task": "", "every": "30s"}),
        json!({"id": "a", "task": "t", "every": "30s", "surprise": 1}),
    ] {
        let reply = api
            .json(Method::POST, "/api/v1/schedules", &body)
            .await
            .expect(422);
        assert_eq!(reply.code(), "invalid_field", "{body}");
    }
    let list = api.get_json("/api/v1/schedules").await;
    assert_eq!(list["items"], json!([]));
    for path in ["/api/v1/schedules/has%20space", "/api/v1/schedules/a%2Fb"] {
        assert_eq!(api.get(path).await.expect(400).code(), "invalid_id");
    }
    api.get("/api/v1/schedules/missing").await.expect(404);
}

#[tokio::test]
async fn a_read_only_token_reads_schedules_but_changes_nothing() {
    let mut api = Harness::with_tokens().await;
    api.json(
        Method::POST,
        "/api/v1/schedules",
        &json!({"id": "tick", "every": "1m", "task": "t"}),
    )
    .await
    .expect(201);
    api.token = Some(READER);
    assert_eq!(api.get_json("/api/v1/schedules/tick").await["id"], "tick");
    api.json(
        Method::POST,
        "/api/v1/schedules",
        &json!({"id": "other", "every": "1m", "task": "t"}),
    )
    .await
    .expect(403);
    api.post("/api/v1/schedules/tick/pause").await.expect(403);
    let delete = axum::http::Request::delete("/api/v1/schedules/tick")
        .header(cogman_api::CLIENT_HEADER, "tests")
        .body(axum::body::Body::empty())
        .expect("request");
    api.call(delete).await.expect(403);
    let still = api.get_json("/api/v1/schedules/tick").await;
    assert_eq!(still["paused"], false);
}
