//! `POST /tasks/bulk`: cancel and retry on what a search line matches or on listed ids, a dry
//! run that changes nothing, acting twice that changes nothing more (skipped with reasons), the
//! bound per request with a cursor, one action per chain, and the checks (admin only, ids or q).

use axum::body::Body;
use axum::http::{Method, Request, header};
use serde_json::{Value, json};

use crate::common::{Harness, READER};

async fn bulk(api: &Harness, body: Value) -> Value {
    api.json(Method::POST, "/api/v1/tasks/bulk", &body)
        .await
        .expect(200)
        .json()
}

async fn status(api: &Harness, id: &str) -> String {
    api.details(id).await["task"]["status"]
        .as_str()
        .expect("status")
        .to_owned()
}

#[tokio::test]
async fn bulk_cancel_and_retry_act_once_per_task() {
    let api = Harness::with_tokens().await;
    let key = format!("bulk-{}", uuid::Uuid::now_v7().simple());
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(
            api.send(json!({"name": "later", "primary_key": key, "payload": {"n": n}, "delay_ms": 3_600_000}))
                .await,
        );
    }
    let bystander = api
        .send(
            json!({"name": "later", "primary_key": format!("{key}-other"), "delay_ms": 3_600_000}),
        )
        .await;
    let q = format!("key:{key}");

    let dry = bulk(&api, json!({"action": "cancel", "q": q, "dry_run": true})).await;
    assert_eq!(
        (dry["matched"].as_u64(), dry["acted"].as_u64()),
        (Some(3), Some(3)),
        "{dry}"
    );
    assert_eq!(dry["dry_run"], true);
    for id in &ids {
        assert_eq!(
            status(&api, id).await,
            "scheduled",
            "a dry run changes nothing"
        );
    }

    // Bounded: one per request, the cursor goes on.
    let first = bulk(&api, json!({"action": "cancel", "q": q, "limit": 1})).await;
    assert_eq!(first["acted"], 1, "{first}");
    let next = first["next"].as_str().expect("more match").to_owned();
    let rest = bulk(&api, json!({"action": "cancel", "q": q, "after": next})).await;
    assert_eq!(rest["acted"], 2, "{rest}");
    assert!(rest["next"].is_null(), "{rest}");
    for id in &ids {
        assert_eq!(status(&api, id).await, "cancelled");
    }
    assert_eq!(status(&api, &bystander).await, "scheduled");
    let again = bulk(&api, json!({"action": "cancel", "q": q})).await;
    assert_eq!(
        (again["matched"].as_u64(), again["acted"].as_u64()),
        (Some(3), Some(0)),
        "{again}"
    );
    assert_eq!(again["skipped"].as_array().expect("skipped").len(), 3);

    // Retry by ids, twice: the second finds them retried.
    let retried = bulk(
        &api,
        json!({"action": "retry", "ids": [ids[0], ids[1]], "retry": 2}),
    )
    .await;
    assert_eq!(retried["acted"], 2, "{retried}");
    let chain = api.details(&ids[0]).await;
    assert_eq!(chain["attempts"].as_array().expect("attempts").len(), 2);
    assert_eq!(chain["attempts"][0]["retry"], 2);
    let twice = bulk(&api, json!({"action": "retry", "ids": [ids[0], ids[1]]})).await;
    assert_eq!(twice["acted"], 0, "{twice}");
    assert!(
        twice["skipped"][0]["reason"]
            .as_str()
            .expect("reason")
            .contains("already retried"),
        "{twice}"
    );

    // "Retry all cancelled" of this key: only the chain not yet retried.
    let all = bulk(
        &api,
        json!({"action": "retry", "q": format!("{q} state:cancelled")}),
    )
    .await;
    assert_eq!(
        (all["matched"].as_u64(), all["acted"].as_u64()),
        (Some(3), Some(1)),
        "{all}"
    );
    assert_eq!(
        api.details(&ids[2]).await["attempts"]
            .as_array()
            .expect("attempts")
            .len(),
        2
    );

    // Checks.
    for (body, says) in [
        (json!({"action": "retry"}), "give ids"),
        (
            json!({"action": "retry", "ids": [ids[0]], "q": ""}),
            "not both",
        ),
        (
            json!({"action": "cancel", "ids": [ids[0]], "retry": 1}),
            "retry is for",
        ),
        (
            json!({"action": "cancel", "q": "colour:red"}),
            "unknown field",
        ),
        (json!({"action": "cancel", "q": "", "limit": 0}), "limit"),
    ] {
        let refused = api
            .json(Method::POST, "/api/v1/tasks/bulk", &body)
            .await
            .expect(422);
        assert!(refused.text().contains(says), "{body}: {}", refused.text());
    }
    let as_reader = Request::post("/api/v1/tasks/bulk")
        .header(header::AUTHORIZATION, format!("Bearer {READER}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(json!({"action": "cancel", "q": ""}).to_string()))
        .expect("request");
    api.call(as_reader).await.expect(403);
    assert_eq!(status(&api, &bystander).await, "scheduled");
    api.stop().await;
}
