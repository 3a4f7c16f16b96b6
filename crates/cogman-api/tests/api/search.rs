//! `GET /search` on every task log (the embedded SQLite file, Redis, PostgreSQL): each field of
//! the search line finds what it should, a payload path compares JSON values, the cursor pages
//! through every match, and a line that is not understood is a 400 naming the term.

use cogman::{Config, TaskError, handler_fn};
use cogman_api::ApiOptions;
use cogman_testkit::servers::SharedCleanup;
use serde_json::{Value, json};

use crate::common::{Harness, WAIT};

const REDIS: &str = "redis://127.0.0.1:6379";
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The ids a search answers, in order.
fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["id"].as_str().expect("id").to_owned())
        .collect()
}

async fn search(api: &Harness, line: &str, extra: &str) -> Value {
    let q: String = url_escape(line);
    api.get_json(&format!("/api/v1/search?q={q}{extra}")).await
}

fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Sends three tasks with a name of their own to `config`'s log, runs them (the one for
/// customer 42 fails with "card DECLINED"), and checks every kind of search.
async fn every_search_finds_its_tasks(config: Config) {
    // Not a bare UUID: a word that reads as an id is searched as one.
    let tag = format!("order-{}", uuid::Uuid::now_v7().simple());
    let name = format!("bill-{tag}");
    let register = {
        let name = name.clone();
        move |worker: &cogman::Worker| {
            worker
                .register(
                    &name,
                    handler_fn(|_ctx, payload: Vec<u8>| async move {
                        let json: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
                        if json["customer_id"] == 42 {
                            Err(TaskError::fail("card DECLINED by the bank"))
                        } else {
                            Ok(payload)
                        }
                    }),
                )
                .expect("registered");
        }
    };
    let api = Harness::from_config(config, ApiOptions::default(), Some(&register)).await;
    let declined = api
        .send(json!({"name": name, "primary_key": tag, "payload": {"customer_id": 42, "items": [{"sku": "A1"}]}}))
        .await;
    let paid = api
        .send(json!({"name": name, "primary_key": tag, "payload": {"customer_id": 7}}))
        .await;
    let text = api
        .send(json!({"name": name, "primary_key": tag, "payload_base64": "cGxhaW4gdGV4dA=="}))
        .await;
    for id in [&declined, &paid, &text] {
        cogman_testkit::wait_for_final(api.client.log().as_ref(), id.parse().expect("id"), WAIT)
            .await
            .expect("final");
    }
    let newest_first = vec![text.clone(), paid.clone(), declined.clone()];

    let n = format!("name:{name}");
    assert_eq!(
        ids(&search(&api, &format!("{n} payload.customer_id=42"), "").await),
        vec![declined.clone()]
    );
    assert_eq!(
        ids(&search(&api, &format!("{n} payload.items[0].sku=A1"), "").await),
        vec![declined.clone()]
    );
    assert_eq!(
        ids(&search(&api, &format!("{n} payload.customer_id=\"42\""), "").await),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&search(&api, &format!("{n} error:\"declined by\""), "").await),
        vec![declined.clone()]
    );
    assert_eq!(
        ids(&search(&api, &format!("{n} state:failed"), "").await),
        vec![declined.clone()]
    );
    assert_eq!(
        ids(&search(&api, &format!("{n} state:success"), "").await),
        [text.clone(), paid.clone()]
    );
    assert_eq!(
        ids(&search(&api, &format!("{n} queue:default created>1h"), "").await),
        newest_first
    );
    assert_eq!(
        ids(&search(&api, &format!("{n} queue:images"), "").await),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&search(&api, &format!("{n} created<1h"), "").await),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&search(&api, &tag, "").await),
        newest_first,
        "a bare word is a primary key"
    );
    assert_eq!(
        ids(&search(&api, &paid, "").await),
        vec![paid.clone()],
        "a bare id"
    );
    assert_eq!(
        ids(&search(&api, &format!("id:{declined} state:success"), "").await),
        Vec::<String>::new()
    );

    // The cursor pages through every match, one at a time, for a filter the log applies and for
    // one checked on each task.
    for line in [format!("key:{tag}"), format!("key:{tag} queue:default")] {
        let mut seen = Vec::new();
        let mut after = String::new();
        loop {
            let page = search(&api, &line, &format!("&limit=1{after}")).await;
            seen.extend(ids(&page));
            match page["next"].as_str() {
                Some(next) => after = format!("&after={next}"),
                None => break,
            }
            assert!(seen.len() <= 3, "{line}: the cursor goes round: {seen:?}");
        }
        assert_eq!(seen, newest_first, "{line}");
    }

    let refused = api.get("/api/v1/search?q=colour%3Ared").await.expect(400);
    assert!(
        refused.text().contains("unknown field"),
        "{}",
        refused.text()
    );
    api.get("/api/v1/search?limit=0").await.expect(400);
    api.get("/api/v1/search?after=nope").await.expect(400);
    api.stop().await;
}

#[tokio::test]
async fn search_on_the_embedded_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    every_search_finds_its_tasks(Config::embedded(dir.path().join("cogman.db"))).await;
}

#[tokio::test]
async fn search_on_the_redis_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::embedded(dir.path().join("queue.db"));
    config.redis.uri = Some(REDIS.into());
    config.redis.namespace = format!("api-search-{}", uuid::Uuid::now_v7().simple());
    let _cleanup = SharedCleanup::new().redis_namespace(REDIS, &config.redis.namespace);
    every_search_finds_its_tasks(config).await;
}

#[tokio::test]
async fn search_on_the_postgres_log() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config::embedded(dir.path().join("queue.db"));
    config.postgres.uri = Some(POSTGRES.into());
    config.postgres.schema = format!("api_search_{}", uuid::Uuid::now_v7().simple());
    let _cleanup = SharedCleanup::new().postgres_schema(POSTGRES, &config.postgres.schema);
    every_search_finds_its_tasks(config).await;
}
