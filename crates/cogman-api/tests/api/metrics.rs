//! `GET /metrics`: task states and queue depth from the backends, the age of the oldest
//! pending task from the log, and the duration histogram fed by an in-process worker.

use axum::http::header;
use chrono::{TimeDelta, Utc};
use cogman::{Task, TaskError, TaskId, TaskSpec, TaskState, handler_fn};
use cogman_api::ApiOptions;
use serde_json::json;

use crate::common::{Harness, WAIT};

/// The value of the sample line that starts with `prefix` (name and labels).
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(prefix)?.trim().parse().ok())
}

#[tokio::test]
async fn metrics_report_states_queues_and_the_oldest_pending_age() {
    let api = Harness::open().await;
    let empty = api.get("/api/v1/metrics").await.expect(200).text();
    assert_eq!(
        sample(&empty, "cogman_oldest_pending_task_age_seconds"),
        Some(0.0),
        "{empty}"
    );

    api.send(json!({"name": "a"})).await;
    let cancelled = api.send(json!({"name": "b"})).await;
    api.post(&format!("/api/v1/tasks/{cancelled}/cancel"))
        .await
        .expect(200);
    // A task queued an hour ago, recorded as a client would have (ids are time-ordered too).
    let an_hour_ago = Utc::now() - TimeDelta::hours(1);
    let mut old = Task::from_spec(TaskSpec::new("old", Vec::new()), an_hour_ago);
    let seconds = u64::try_from(an_hour_ago.timestamp()).expect("after 1970");
    old.id = TaskId::from_uuid(uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        seconds,
        0,
    )));
    old.original_task_id = old.id;
    old.status = TaskState::Queued;
    api.client.log().create(&old).await.expect("created");

    let reply = api.get("/api/v1/metrics").await.expect(200);
    let content_type = reply
        .headers
        .get(header::CONTENT_TYPE)
        .expect("content type")
        .to_str()
        .expect("ascii");
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = reply.text();
    assert_eq!(
        sample(&text, "cogman_tasks{state=\"queued\"}"),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "cogman_tasks{state=\"cancelled\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "cogman_tasks{state=\"success\"}"),
        Some(0.0),
        "{text}"
    );
    let depth: f64 = text
        .lines()
        .filter(|l| l.starts_with("cogman_queue_depth{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(
        depth, 1.0,
        "of the two tasks sent through the broker, the cancelled one is not counted: {text}"
    );
    let age = sample(&text, "cogman_oldest_pending_task_age_seconds").expect("the age gauge");
    assert!((3600.0..3700.0).contains(&age), "age {age}");
    assert!(text.trim_end().ends_with("# EOF"));
    api.stop().await;
}

#[tokio::test]
async fn the_duration_histogram_counts_attempts_of_the_in_process_worker() {
    let register = |worker: &cogman::Worker| {
        worker
            .register(
                "echo",
                handler_fn(|_ctx, payload: Vec<u8>| async move { Ok::<_, TaskError>(payload) }),
            )
            .expect("registered");
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let config = cogman::Config::embedded(dir.path().join("cogman.db"));
    let api = Harness::from_config(config, ApiOptions::default(), Some(&register)).await;
    for i in 0..2 {
        let id = api.send(json!({"name": "echo", "payload": i})).await;
        let task = cogman_testkit::wait_for_final(
            api.client.log().as_ref(),
            id.parse().expect("id"),
            WAIT,
        )
        .await
        .expect("final");
        assert_eq!(task.status, TaskState::Success);
    }
    // The observer hears of an attempt just after its outcome is recorded: poll.
    let count = "cogman_task_duration_seconds_count{name=\"echo\",state=\"success\"}";
    cogman_testkit::wait_until(
        "both attempts in the histogram and the worker alive",
        WAIT,
        || async {
            let text = api.get("/api/v1/metrics").await.expect(200).text();
            sample(&text, count) == Some(2.0) && sample(&text, "cogman_workers_alive") == Some(1.0)
        },
    )
    .await
    .expect("observed");
    let text = api.get("/api/v1/metrics").await.expect(200).text();
    let buckets = text
        .lines()
        .filter(|l| l.starts_with("cogman_task_duration_seconds_bucket{"))
        .count();
    assert!(buckets > 10, "a histogram with buckets: {text}");
    api.stop().await;
}
