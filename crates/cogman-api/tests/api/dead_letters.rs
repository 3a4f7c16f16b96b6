//! The dead-letter routes: a page newest first with `before`, bad paging and ids are 400, an
//! entry without a task cannot be requeued (409), one with a task is sent again as a new
//! attempt of its chain, deletes are 204/404, purge answers the count, and a read token
//! cannot change anything.

use axum::body::Body;
use axum::http::{Method, Request, header};
use chrono::Utc;
use cogman::{NewDeadLetter, Task, TaskSpec};

use crate::common::{Harness, READER};

fn malformed() -> NewDeadLetter {
    NewDeadLetter {
        key: None,
        task_id: None,
        task: None,
        name: None,
        queue: Some("low_priority_queue_0".into()),
        reason: "malformed: header cogman-task-name is missing".into(),
        dead_lettered_at: Utc::now(),
        headers: Default::default(),
        body: b"foreign".to_vec(),
    }
}

async fn write(
    api: &Harness,
    method: Method,
    uri: &str,
    token: Option<&str>,
) -> crate::common::Reply {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(cogman_api::CLIENT_HEADER, "tests");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    api.call(request.body(Body::empty()).expect("request"))
        .await
}

#[tokio::test]
async fn dead_letters_are_listed_requeued_and_deleted() {
    let api = Harness::with_tokens().await;
    let store = api
        .client
        .log()
        .dead_letter_store()
        .expect("the embedded log keeps dead letters");
    let task = Task::from_spec(TaskSpec::new("dl.api", b"again".to_vec()), Utc::now());
    let poison = store
        .add_dead_letter(&NewDeadLetter::for_task(
            &task,
            None,
            "poison: delivered 10 times",
        ))
        .await
        .expect("add");
    let foreign = store.add_dead_letter(&malformed()).await.expect("add");

    let first = api
        .get("/api/v1/dead-letters?limit=1")
        .await
        .expect(200)
        .json();
    assert_eq!(first["items"][0]["id"], foreign, "newest first");
    assert_eq!(first["items"][0]["requeueable"], false);
    assert_eq!(first["items"][0]["body_base64"], "Zm9yZWlnbg==");
    let next = first["next_before"].as_u64().expect("a next page");
    let second = api
        .get(&format!("/api/v1/dead-letters?before={next}"))
        .await
        .expect(200)
        .json();
    assert_eq!(second["items"][0]["id"], poison);
    assert_eq!(second["items"][0]["task"]["name"], "dl.api");
    assert_eq!(second["items"][0]["task_id"], task.id.to_string());
    assert!(second["next_before"].is_null());
    for bad in ["limit=0", "limit=1001", "before=x", "bogus=1", "before=-1"] {
        let reply = api
            .get(&format!("/api/v1/dead-letters?{bad}"))
            .await
            .expect(400);
        assert_eq!(reply.code(), "invalid_query", "{bad}");
    }

    let refused = write(
        &api,
        Method::POST,
        &format!("/api/v1/dead-letters/{foreign}/requeue"),
        None,
    )
    .await
    .expect(409);
    assert!(
        refused.text().contains("cannot be requeued"),
        "{}",
        refused.text()
    );
    write(&api, Method::POST, "/api/v1/dead-letters/x/requeue", None)
        .await
        .expect(400);
    write(
        &api,
        Method::POST,
        "/api/v1/dead-letters/999999/requeue",
        None,
    )
    .await
    .expect(404);
    write(
        &api,
        Method::POST,
        &format!("/api/v1/dead-letters/{poison}/requeue"),
        Some(READER),
    )
    .await
    .expect(403);
    write(&api, Method::DELETE, "/api/v1/dead-letters", Some(READER))
        .await
        .expect(403);

    let sent = write(
        &api,
        Method::POST,
        &format!("/api/v1/dead-letters/{poison}/requeue"),
        None,
    )
    .await
    .expect(201)
    .json();
    let id = sent["id"].as_str().expect("the new attempt's id");
    let details = api.details(id).await;
    assert_eq!(
        details["task"]["original_task_id"],
        task.id.to_string(),
        "linked to the dead task"
    );
    assert_eq!(details["task"]["attempt"], 1);
    assert_eq!(details["task"]["payload_base64"], "YWdhaW4=");
    write(
        &api,
        Method::POST,
        &format!("/api/v1/dead-letters/{poison}/requeue"),
        None,
    )
    .await
    .expect(404);

    write(
        &api,
        Method::DELETE,
        &format!("/api/v1/dead-letters/{foreign}"),
        None,
    )
    .await
    .expect(204);
    write(
        &api,
        Method::DELETE,
        &format!("/api/v1/dead-letters/{foreign}"),
        None,
    )
    .await
    .expect(404);
    store.add_dead_letter(&malformed()).await.expect("add");
    let purged = write(&api, Method::DELETE, "/api/v1/dead-letters", None)
        .await
        .expect(200)
        .json();
    assert_eq!(purged["purged"], 1);
    let empty = api.get("/api/v1/dead-letters").await.expect(200).json();
    assert_eq!(empty["items"].as_array().map(Vec::len), Some(0));
    api.stop().await;
}
