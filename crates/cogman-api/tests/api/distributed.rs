//! The API over the distributed task log: Redis in front of PostgreSQL (the real servers on
//! 127.0.0.1), with a unique Redis namespace and PostgreSQL schema per run, both deleted when
//! the test ends.

use cogman::{TaskError, handler_fn};
use cogman_api::ApiOptions;
use cogman_testkit::servers::SharedCleanup;
use serde_json::json;

use crate::common::{Harness, WAIT, history_states, item_count};

const REDIS: &str = "redis://127.0.0.1:6379";
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

#[tokio::test]
async fn the_api_works_over_redis_and_postgres() {
    let unique = uuid::Uuid::now_v7().simple().to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = cogman::Config::embedded(dir.path().join("queue.db"));
    config.redis.uri = Some(REDIS.into());
    config.postgres.uri = Some(POSTGRES.into());
    config.redis.namespace = format!("api-test-{unique}");
    config.postgres.schema = format!("api_test_{unique}");
    // Declared before the API, so dropped after it: the keys and the schema go at the end,
    // also when the test fails.
    let _cleanup = SharedCleanup::new()
        .redis_namespace(REDIS, &config.redis.namespace)
        .postgres_schema(POSTGRES, &config.postgres.schema);
    let register = |worker: &cogman::Worker| {
        worker
            .register(
                "double",
                handler_fn(|_ctx, payload: Vec<u8>| async move {
                    Ok::<_, TaskError>([payload.clone(), payload].concat())
                }),
            )
            .expect("registered");
    };
    let api = Harness::from_config(config, ApiOptions::default(), Some(&register)).await;

    let id = api
        .send(json!({"name": "double", "payload": "ab", "primary_key": unique}))
        .await;
    let done =
        cogman_testkit::wait_for_final(api.client.log().as_ref(), id.parse().expect("id"), WAIT)
            .await
            .expect("final");
    assert_eq!(done.status, cogman::TaskState::Success);
    let details = api.details(&id).await;
    assert_eq!(details["task"]["status"], "success");
    assert_eq!(details["task"]["result_base64"], base64_of(b"\"ab\"\"ab\""));
    let states = history_states(&details);
    assert!(states.contains(&"success"), "{states:?}");

    let listed = api
        .get_json(&format!("/api/v1/tasks?primary_key={unique}"))
        .await;
    assert_eq!(item_count(&listed), 1);
    let retried = api.retry(&id, 1).await.expect(201);
    let second = retried.json()["id"].as_str().expect("id").to_owned();
    cogman_testkit::wait_for_final(api.client.log().as_ref(), second.parse().expect("id"), WAIT)
        .await
        .expect("final");
    let attempts = api.details(&second).await["attempts"].clone();
    assert_eq!(attempts.as_array().expect("attempts").len(), 2);

    let scheduled = api
        .send(json!({"name": "double", "delay_ms": 3_600_000}))
        .await;
    api.post(&format!("/api/v1/tasks/{scheduled}/cancel"))
        .await
        .expect(200);
    api.post(&format!("/api/v1/tasks/{id}/cancel"))
        .await
        .expect(409);

    let counts = api.get_json("/api/v1/counts?interval=1h").await;
    let total: u64 = counts["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .map(|b| b["total"].as_u64().expect("n"))
        .sum();
    assert_eq!(total, 3, "{counts}");
    api.wait_worker_listed().await;
    let metrics = api.get("/api/v1/metrics").await.expect(200).text();
    assert!(
        metrics.contains("cogman_tasks{state=\"success\"} 2"),
        "{metrics}"
    );
    api.stop().await;
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
