//! Happy paths of `POST /tasks`, `GET /tasks/{id}` and `GET /tasks` against the real
//! embedded backend.

use axum::http::header;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

use crate::common::{Harness, WAIT, history_states, item_count};

#[tokio::test]
async fn a_sent_task_can_be_read_back_with_its_attempts_and_history() {
    let api = Harness::open().await;
    let body = json!({"name": "email.send", "payload": {"to": "a@b.c"}, "priority": "high", "retry": 2, "primary_key": "order-1", "timeout_ms": 1500});
    let reply = api
        .json(axum::http::Method::POST, "/api/v1/tasks", &body)
        .await
        .expect(201);
    let sent = reply.json();
    assert_eq!(sent["status"], "queued");
    let id = sent["id"].as_str().expect("id").to_owned();
    let location = reply
        .headers
        .get(header::LOCATION)
        .expect("a Location header");
    assert_eq!(
        location.to_str().expect("ascii"),
        format!("/api/v1/tasks/{id}")
    );

    let details = api.details(&id).await;
    let task = &details["task"];
    assert_eq!(task["id"], id.as_str());
    assert_eq!(task["name"], "email.send");
    assert_eq!(task["payload"], json!({"to": "a@b.c"}));
    assert_eq!(
        STANDARD
            .decode(task["payload_base64"].as_str().expect("base64"))
            .expect("valid"),
        br#"{"to":"a@b.c"}"#
    );
    assert_eq!(task["priority"], "High");
    assert_eq!(task["retry"], 2);
    assert_eq!(task["attempt"], 0);
    assert_eq!(task["original_task_id"], id.as_str());
    assert_eq!(task["primary_key"], "order-1");
    assert_eq!(task["timeout_ms"], 1500);
    assert_eq!(task["status"], "queued");
    let attempts = details["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0]["id"], id.as_str());
    let states = history_states(&details);
    assert!(states.contains(&"queued"), "history {states:?}");
    api.stop().await;
}

#[tokio::test]
async fn binary_payloads_travel_as_base64_exactly() {
    let api = Harness::open().await;
    let bytes = [0u8, 159, 146, 150, 255];
    let id = api
        .send(json!({"name": "blob", "payload_base64": STANDARD.encode(bytes)}))
        .await;
    let task = api.details(&id).await["task"].clone();
    assert!(
        task.get("payload").is_none(),
        "non-JSON bytes are not shown as JSON: {task}"
    );
    assert_eq!(
        STANDARD
            .decode(task["payload_base64"].as_str().expect("base64"))
            .expect("valid"),
        bytes
    );
    assert_eq!(task["priority"], "Low", "the default priority");
    api.stop().await;
}

#[tokio::test]
async fn a_delayed_task_is_scheduled() {
    let api = Harness::open().await;
    let reply = api
        .json(
            axum::http::Method::POST,
            "/api/v1/tasks",
            &json!({"name": "later", "delay_ms": 3_600_000}),
        )
        .await
        .expect(201);
    assert_eq!(reply.json()["status"], "scheduled");
    let id = reply.json()["id"].as_str().expect("id").to_owned();
    let task = api.details(&id).await["task"].clone();
    assert_eq!(task["status"], "scheduled");
    let run_at = chrono::DateTime::parse_from_rfc3339(task["run_at"].as_str().expect("run_at"))
        .expect("a time");
    assert!(
        run_at > chrono::Utc::now() + chrono::TimeDelta::minutes(59),
        "{run_at}"
    );

    let at = (chrono::Utc::now() + chrono::TimeDelta::hours(2)).to_rfc3339();
    let reply = api
        .json(
            axum::http::Method::POST,
            "/api/v1/tasks",
            &json!({"name": "later", "run_at": at}),
        )
        .await
        .expect(201);
    assert_eq!(reply.json()["status"], "scheduled");
    api.stop().await;
}

#[tokio::test]
async fn listing_filters_and_pages_with_a_cursor() {
    let api = Harness::open().await;
    let mut sent = Vec::new();
    for i in 0..5 {
        let name = if i % 2 == 0 { "even" } else { "odd" };
        sent.push(
            api.send(json!({"name": name, "payload": i, "primary_key": format!("k{i}")}))
                .await,
        );
    }
    api.post(&format!("/api/v1/tasks/{}/cancel", sent[0]))
        .await
        .expect(200);

    let all = api.get_json("/api/v1/tasks").await;
    let ids: Vec<&str> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|t| t["id"].as_str())
        .collect();
    let newest_first: Vec<&str> = sent.iter().rev().map(String::as_str).collect();
    assert_eq!(ids, newest_first);
    assert!(all["next"].is_null());

    let mut paged = Vec::new();
    let mut uri = "/api/v1/tasks?limit=2".to_owned();
    loop {
        let page = api.get_json(&uri).await;
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 2);
        paged.extend(
            items
                .iter()
                .filter_map(|t| t["id"].as_str().map(str::to_owned)),
        );
        match page["next"].as_str() {
            Some(next) => uri = format!("/api/v1/tasks?limit=2&after={next}"),
            None => break,
        }
    }
    assert_eq!(paged, newest_first);

    let evens = api.get_json("/api/v1/tasks?name=even").await;
    assert_eq!(item_count(&evens), 3);
    let cancelled = api.get_json("/api/v1/tasks?status=cancelled").await;
    assert_eq!(cancelled["items"][0]["id"], sent[0].as_str());
    assert_eq!(item_count(&cancelled), 1);
    let both = api.get_json("/api/v1/tasks?status=cancelled,queued").await;
    assert_eq!(item_count(&both), 5);
    let repeated = api
        .get_json("/api/v1/tasks?status=cancelled&status=queued&name=odd")
        .await;
    assert_eq!(item_count(&repeated), 2);
    let keyed = api.get_json("/api/v1/tasks?primary_key=k3").await;
    assert_eq!(keyed["items"][0]["id"], sent[3].as_str());
    let future = (chrono::Utc::now() + chrono::TimeDelta::hours(1))
        .to_rfc3339()
        .replace('+', "%2B");
    let none = api
        .get_json(&format!("/api/v1/tasks?created_from={future}"))
        .await;
    assert_eq!(item_count(&none), 0);
    let past = (chrono::Utc::now() - chrono::TimeDelta::hours(1))
        .to_rfc3339()
        .replace('+', "%2B");
    let recent = api
        .get_json(&format!(
            "/api/v1/tasks?created_from={past}&created_to={future}"
        ))
        .await;
    assert_eq!(item_count(&recent), 5);
    api.stop().await;
}

#[tokio::test]
async fn a_send_with_a_held_unique_key_answers_200_with_the_holder() {
    let api = Harness::open().await;
    let body = json!({"name": "report.daily", "unique_key": "report:2026-12-03"});
    let first = api
        .json(axum::http::Method::POST, "/api/v1/tasks", &body)
        .await
        .expect(201);
    let first = first.json();
    assert_eq!(first["deduplicated"], false);
    let again = api
        .json(axum::http::Method::POST, "/api/v1/tasks", &body)
        .await
        .expect(200);
    let location = again
        .headers
        .get(header::LOCATION)
        .expect("a Location header")
        .to_str()
        .expect("ascii")
        .to_owned();
    let again = again.json();
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["status"], "duplicate");
    assert_eq!(again["deduplicated"], true);
    assert_eq!(
        location,
        format!("/api/v1/tasks/{}", first["id"].as_str().expect("id"))
    );
    // Another key, or a timed one, is a new task.
    let timed = json!({"name": "report.daily", "unique_key": "other", "unique_for_ms": 60000});
    let other = api
        .json(axum::http::Method::POST, "/api/v1/tasks", &timed)
        .await
        .expect(201);
    assert_ne!(other.json()["id"], first["id"]);
    // A hold time without a key, or a key with a control character, is refused.
    for bad in [
        json!({"name": "report.daily", "unique_for_ms": 1000}),
        json!({"name": "report.daily", "unique_key": "a\u{1}b"}),
        json!({"name": "report.daily", "unique_key": ""}),
    ] {
        let reply = api
            .json(axum::http::Method::POST, "/api/v1/tasks", &bad)
            .await;
        assert_eq!(reply.status.as_u16(), 422, "{bad}");
    }
    api.stop().await;
}

#[tokio::test]
async fn a_task_no_worker_handles_shows_that_it_waits_for_a_handler() {
    let register = |worker: &cogman::Worker| {
        worker
            .register(
                "echo",
                cogman::handler_fn(|_ctx, payload: Vec<u8>| async move {
                    Ok::<_, cogman::TaskError>(payload)
                }),
            )
            .expect("registered");
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let config = cogman::Config::embedded(dir.path().join("cogman.db"));
    let api =
        Harness::from_config(config, cogman_api::ApiOptions::default(), Some(&register)).await;
    let id = api.send(json!({"name": "resize", "payload": "x"})).await;
    cogman_testkit::wait_until("the worker to hand the task back", WAIT, || async {
        api.details(&id).await["waiting_for_handler"] == true
    })
    .await
    .expect("waiting");
    let details = api.details(&id).await;
    assert_eq!(details["task"]["status"], "queued", "{details}");
    let history = details["history"].as_array().expect("history");
    let last = history.last().expect("an entry");
    assert_eq!(last["note"], "waiting_for_handler", "{details}");
    assert_eq!(last["state"], "queued", "{details}");
    assert!(
        last["worker"].as_str().is_some_and(|w| !w.is_empty()),
        "names the worker that handed it back: {details}"
    );
    assert!(
        history[..history.len() - 1]
            .iter()
            .all(|entry| entry.get("note").is_none()),
        "state changes carry no note: {details}"
    );

    // A task the worker handles: no note, not waiting.
    let handled = api.send(json!({"name": "echo", "payload": "x"})).await;
    let done = cogman_testkit::wait_for_final(
        api.client.log().as_ref(),
        handled.parse().expect("id"),
        WAIT,
    )
    .await
    .expect("final");
    assert_eq!(done.status, cogman::TaskState::Success);
    let handled = api.details(&handled).await;
    assert_eq!(handled["waiting_for_handler"], false, "{handled}");
    api.stop().await;
}
