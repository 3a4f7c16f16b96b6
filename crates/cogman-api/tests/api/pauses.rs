//! Pausing named queues through the API: `POST /named-queues/{name}/pause|resume` (admin
//! token; a read token gets 403 and changes nothing; a bad name 422), `GET /named-queues`
//! lists `default` and the paused ones; a worker started while the queue is paused runs
//! nothing of it, and runs it all after the resume.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, header};
use cogman::{TaskError, TaskState, handler_fn};
use serde_json::json;

use crate::common::{Harness, READER, both_tokens};

fn names(list: &serde_json::Value) -> Vec<(String, bool)> {
    list["queues"]
        .as_array()
        .expect("queues")
        .iter()
        .map(|q| {
            (
                q["name"].as_str().expect("name").to_owned(),
                q["paused"].as_bool().expect("paused"),
            )
        })
        .collect()
}

#[tokio::test]
async fn pause_and_resume_need_an_admin_token_and_are_listed() {
    let api = Harness::with_tokens().await;
    let listed = api.get_json("/api/v1/named-queues").await;
    assert_eq!(names(&listed), [("default".to_owned(), false)]);

    let refused = api
        .call_raw(
            Request::builder()
                .method(Method::POST)
                .uri("/api/v1/named-queues/mail/pause")
                .header(header::AUTHORIZATION, format!("Bearer {READER}"))
                .header(cogman_api::CLIENT_HEADER, "tests")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect(403);
    assert_eq!(refused.code(), "forbidden");
    assert_eq!(names(&api.get_json("/api/v1/named-queues").await).len(), 1);

    let paused = api
        .post("/api/v1/named-queues/mail/pause")
        .await
        .expect(200)
        .json();
    assert_eq!(paused["name"], "mail");
    assert_eq!(paused["paused"], true);
    assert!(paused["paused_since"].is_string(), "{paused}");
    // Pausing again keeps the first pause.
    let again = api
        .post("/api/v1/named-queues/mail/pause")
        .await
        .expect(200)
        .json();
    assert_eq!(again["paused_since"], paused["paused_since"]);
    assert_eq!(
        names(&api.get_json("/api/v1/named-queues").await),
        [("default".to_owned(), false), ("mail".to_owned(), true)]
    );

    let bad = api
        .post("/api/v1/named-queues/no%20spaces/pause")
        .await
        .expect(422);
    assert_eq!(bad.code(), "invalid_field");

    let resumed = api
        .post("/api/v1/named-queues/mail/resume")
        .await
        .expect(200)
        .json();
    assert_eq!(
        resumed,
        json!({"name": "mail", "paused": false, "paused_since": null})
    );
    assert_eq!(names(&api.get_json("/api/v1/named-queues").await).len(), 1);
}

#[tokio::test]
async fn a_paused_queue_runs_nothing_until_resumed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = cogman::Config::embedded(dir.path().join("cogman.db"));
    config.queues = vec!["default".into(), "probe".into()];
    // Paused before any worker starts: the worker reads the pause before it consumes.
    {
        let admin = Harness::from_config(config.clone(), both_tokens(), None).await;
        admin.client.pause_queue("default").await.expect("paused");
    }
    let register = |worker: &cogman::Worker| {
        worker
            .register(
                "echo",
                handler_fn(|_ctx, payload: Vec<u8>| async move { Ok::<_, TaskError>(payload) }),
            )
            .expect("registered");
    };
    let api = Harness::from_config(config, Default::default(), Some(&register)).await;
    api.wait_worker_listed().await;
    let ids: Vec<String> =
        futures::future::join_all((0..5).map(|_| api.send(json!({"name": "echo"})))).await;
    // The worker consumes: a task on its other queue runs.
    let probe = api.send(json!({"name": "echo", "queue": "probe"})).await;
    wait_for_success(&api, std::slice::from_ref(&probe)).await;
    for id in &ids {
        assert_eq!(api.details(id).await["task"]["status"], "queued");
    }
    api.post("/api/v1/named-queues/default/resume")
        .await
        .expect(200);
    wait_for_success(&api, &ids).await;
    api.stop().await;
}

async fn wait_for_success(api: &Harness, ids: &[String]) {
    cogman_testkit::wait_until("the tasks to succeed", Duration::from_secs(20), || async {
        for id in ids {
            if api.details(id).await["task"]["status"] != TaskState::Success.as_str() {
                return false;
            }
        }
        true
    })
    .await
    .expect("every task ran");
}
