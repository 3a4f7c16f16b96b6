//! Named queues through the API: `queue` in `POST /tasks` (checked: 422 `invalid_field` for a
//! bad name, as every bad field), shown
//! by `GET /tasks/{id}` and `GET /workers`, and the send warning in the response body when no
//! live worker has the handler on that queue (the task is accepted all the same).

use cogman::{TaskError, handler_fn};
use cogman_api::ApiOptions;
use serde_json::json;

use crate::common::Harness;

#[tokio::test]
async fn a_task_on_a_queue_no_worker_serves_is_accepted_with_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = cogman::Config::embedded(dir.path().join("cogman.db"));
    let register = |worker: &cogman::Worker| {
        worker
            .register(
                "echo",
                handler_fn(|_ctx, payload: Vec<u8>| async move { Ok::<_, TaskError>(payload) }),
            )
            .expect("registered");
    };
    let api = Harness::from_config(config, ApiOptions::default(), Some(&register)).await;
    let worker_id = api.wait_worker_listed().await;
    let workers = api.get_json("/api/v1/workers").await;
    let listed = workers["workers"]
        .as_array()
        .expect("workers")
        .iter()
        .find(|w| w["id"] == worker_id.as_str())
        .expect("the worker")
        .clone();
    assert_eq!(listed["queues"], json!(["default"]), "{listed}");

    let served = api
        .json(
            axum::http::Method::POST,
            "/api/v1/tasks",
            &json!({"name": "echo"}),
        )
        .await
        .expect(201)
        .json();
    assert!(served.get("warning").is_none(), "{served}");

    let unserved = api
        .json(
            axum::http::Method::POST,
            "/api/v1/tasks",
            &json!({"name": "echo", "queue": "images"}),
        )
        .await
        .expect(201)
        .json();
    let warning = unserved["warning"].as_str().expect("a warning");
    assert!(warning.contains("\"echo\""), "{warning}");
    assert!(warning.contains("\"images\""), "{warning}");
    let id = unserved["id"].as_str().expect("id");
    let details = api.details(id).await;
    assert_eq!(details["task"]["queue"], "images");
    assert_eq!(details["task"]["status"], "queued", "accepted, waiting");

    for bad in ["", "a b", "a/b", &"q".repeat(65)] {
        let reply = api
            .json(
                axum::http::Method::POST,
                "/api/v1/tasks",
                &json!({"name": "echo", "queue": bad}),
            )
            .await
            .expect(422);
        assert!(
            reply.text().contains("queue name"),
            "{bad:?}: {}",
            reply.text()
        );
    }
    api.stop().await;
}
