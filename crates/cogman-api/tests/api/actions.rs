//! `POST /tasks/{id}/retry` and `POST /tasks/{id}/cancel`: happy paths and the 409s.

use serde_json::json;

use crate::common::Harness;

#[tokio::test]
async fn cancelling_a_queued_task_is_final_and_idempotent() {
    let api = Harness::open().await;
    let id = api.send(json!({"name": "slow"})).await;
    let task = api
        .post(&format!("/api/v1/tasks/{id}/cancel"))
        .await
        .expect(200)
        .json();
    assert_eq!(task["status"], "cancelled");
    assert_eq!(task["id"], id.as_str());
    let again = api
        .post(&format!("/api/v1/tasks/{id}/cancel"))
        .await
        .expect(200)
        .json();
    assert_eq!(again["status"], "cancelled");
    let history = api.details(&id).await["history"].clone();
    assert!(
        history
            .as_array()
            .expect("history")
            .iter()
            .any(|c| c["state"] == "cancelled"),
        "{history}"
    );
    api.stop().await;
}

#[tokio::test]
async fn retrying_a_finished_task_creates_a_new_attempt() {
    let api = Harness::open().await;
    let first = api
        .send(json!({"name": "flaky", "payload": "x", "primary_key": "p"}))
        .await;
    api.post(&format!("/api/v1/tasks/{first}/cancel"))
        .await
        .expect(200);

    let reply = api.retry(&first, 2).await.expect(201);
    let second = reply.json()["id"].as_str().expect("id").to_owned();
    assert_ne!(second, first);
    assert_eq!(reply.json()["status"], "queued");

    let details = api.details(&second).await;
    assert_eq!(details["task"]["original_task_id"], first.as_str());
    assert_eq!(details["task"]["retry"], 2);
    assert_eq!(details["task"]["attempt"], 1);
    assert_eq!(details["task"]["payload"], "x");
    let attempts: Vec<&str> = details["attempts"]
        .as_array()
        .expect("attempts")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    assert_eq!(attempts, vec![second.as_str(), first.as_str()]);

    // Without a body the new attempt has no retries of its own.
    api.post(&format!("/api/v1/tasks/{second}/cancel"))
        .await
        .expect(200);
    let third = api
        .post(&format!("/api/v1/tasks/{second}/retry"))
        .await
        .expect(201)
        .json();
    let third_id = third["id"].as_str().expect("id");
    let task = api.details(third_id).await["task"].clone();
    assert_eq!(task["retry"], 0);
    assert_eq!(task["original_task_id"], first.as_str());

    // An empty body with a JSON content type is the same as no body.
    api.post(&format!("/api/v1/tasks/{third_id}/cancel"))
        .await
        .expect(200);
    let request = axum::http::Request::post(format!("/api/v1/tasks/{third_id}/retry"))
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::empty())
        .expect("request");
    let fourth = api.call(request).await.expect(201).json();
    assert_ne!(fourth["id"], third["id"]);
    api.stop().await;
}

#[tokio::test]
async fn actions_in_the_wrong_state_are_409_and_change_nothing() {
    let api = Harness::open().await;
    let queued = api.send(json!({"name": "waiting"})).await;
    let before = api.snapshot().await;
    let reply = api.retry(&queued, 1).await.expect(409);
    assert_eq!(reply.code(), "conflict");
    assert_eq!(api.snapshot().await, before);

    api.post(&format!("/api/v1/tasks/{queued}/cancel"))
        .await
        .expect(200);
    // A finished task cannot be cancelled: succeed one through the log, as a worker would.
    let done = api.send(json!({"name": "done"})).await;
    let change = cogman::StateChange::new(done.parse().expect("id"), cogman::TaskState::Success);
    api.client.log().record(&change).await.expect("recorded");
    let before = api.snapshot().await;
    let reply = api
        .post(&format!("/api/v1/tasks/{done}/cancel"))
        .await
        .expect(409);
    assert_eq!(reply.code(), "conflict");
    assert_eq!(api.snapshot().await, before);
    api.stop().await;
}

#[tokio::test]
async fn a_task_and_its_attempts_answer_as_one() {
    let api = Harness::open().await;
    let first = api.send(json!({"name": "waiting"})).await;
    api.post(&format!("/api/v1/tasks/{first}/cancel"))
        .await
        .expect(200);
    let second = api.retry(&first, 0).await.expect(201).json()["id"]
        .as_str()
        .expect("id")
        .to_owned();

    // The second attempt waits: another retry, by either id, is refused naming it.
    for id in [&first, &second] {
        let before = api.snapshot().await;
        let reply = api.retry(id, 0).await.expect(409);
        assert_eq!(reply.code(), "conflict");
        let message = reply.json()["message"].to_string();
        assert!(message.contains(&second), "{message}");
        assert_eq!(api.snapshot().await, before, "nothing was sent");
    }

    // The first id shows its own state and the chain's.
    let details = api.details(&first).await;
    assert_eq!(details["task"]["status"], "cancelled");
    assert_eq!(details["chain_status"], "queued");
    assert_eq!(details["latest_attempt"], second.as_str());

    // Cancelling the first id cancels the waiting attempt.
    api.post(&format!("/api/v1/tasks/{first}/cancel"))
        .await
        .expect(200);
    assert_eq!(api.details(&second).await["task"]["status"], "cancelled");
    assert_eq!(api.details(&first).await["chain_status"], "cancelled");
    api.stop().await;
}

#[tokio::test]
async fn ten_concurrent_retries_create_one_attempt() {
    let api = Harness::open().await;
    let first = api.send(json!({"name": "waiting"})).await;
    api.post(&format!("/api/v1/tasks/{first}/cancel"))
        .await
        .expect(200);
    let replies = futures::future::join_all((0..10).map(|_| api.retry(&first, 0))).await;
    let (created, refused): (Vec<_>, Vec<_>) =
        replies.into_iter().partition(|r| r.status.as_u16() == 201);
    assert_eq!(created.len(), 1, "exactly one retry creates attempt 1");
    let second = created[0].json()["id"].as_str().expect("id").to_owned();
    for reply in refused {
        let message = reply.expect(409).json()["message"].to_string();
        assert!(message.contains(&second), "names the attempt: {message}");
    }
    let details = api.details(&first).await;
    let attempts = details["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2, "{details}");
    assert_eq!(details["latest_attempt"], second.as_str());
    api.stop().await;
}
