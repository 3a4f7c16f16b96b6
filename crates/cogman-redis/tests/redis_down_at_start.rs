//! Starting while Redis is down: `connect` answers Ok, every call answers `Unavailable` within
//! `connect_timeout` until the server is up, then the log works without being reopened. A
//! config that can never work still fails `connect`.

use std::time::{Duration, Instant};

use chrono::Utc;
use cogman_core::{TaskLog, TaskLogError, WorkerRegistry as _};
use cogman_redis::{RedisConfig, RedisLog};
use cogman_testkit::servers::PrivateRedis;
use cogman_testkit::{sample, wait_until};

/// How long the log may take to become usable once the server is up.
const RECOVERY: Duration = Duration::from_secs(30);
/// The connect timeout of these tests.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Slack on top of `CONNECT_TIMEOUT` for a call that cannot connect.
const SLACK: Duration = Duration::from_millis(700);

fn config(uri: String) -> RedisConfig {
    let mut config = RedisConfig::new(uri)
        .namespace("cogman-down")
        .ttl(Duration::from_secs(600));
    config.connect_timeout = CONNECT_TIMEOUT;
    config
}

/// Runs `call`, asserts it answers `Unavailable` within `CONNECT_TIMEOUT` plus slack.
async fn assert_unavailable<T: std::fmt::Debug>(
    what: &str,
    call: impl std::future::Future<Output = Result<T, TaskLogError>>,
) {
    let started = Instant::now();
    let result = call.await;
    let took = started.elapsed();
    match result {
        Err(TaskLogError::Unavailable(_)) => {}
        other => panic!("{what} while Redis is down: expected Unavailable, got {other:?}"),
    }
    eprintln!("{what} while Redis is down answered in {took:?}");
    assert!(
        took < CONNECT_TIMEOUT + SLACK,
        "{what} answered in {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_opened_while_redis_is_down_works_once_it_is_up() {
    let redis = PrivateRedis::start()
        .await
        .unwrap_or_else(|e| panic!("a private Redis starts: {e}"));
    redis.stop().await;

    let started = Instant::now();
    let log = RedisLog::connect(config(redis.uri()))
        .await
        .expect("connect succeeds while Redis is down");
    let took = started.elapsed();
    eprintln!("connect while Redis is down answered in {took:?}");
    assert!(
        took < CONNECT_TIMEOUT + SLACK,
        "connect answered in {took:?}"
    );

    let task = sample::task("redis.down");
    assert_unavailable("create", log.create(&task)).await;
    assert_unavailable("get", log.get(task.id)).await;
    assert_unavailable("history", log.history(task.id)).await;
    assert_unavailable("purge", log.purge_before(Utc::now())).await;
    assert_unavailable("deregister", log.deregister("worker-that-never-was")).await;
    assert_unavailable("ping", log.ping()).await;

    redis.start_again().await.expect("Redis starts again");
    let up = Instant::now();
    wait_until("a write to land once Redis is up", RECOVERY, || async {
        match log.create(&task).await {
            Ok(()) => true,
            Err(TaskLogError::Unavailable(_)) => false,
            Err(error) => panic!("a write failed for good: {error:?}"),
        }
    })
    .await
    .expect("the write lands without reopening the log");
    eprintln!(
        "the first write landed {:?} after the server was up",
        up.elapsed()
    );

    cogman_testkit::assert_reads_back(&log, &task).await;
}

#[tokio::test]
async fn a_log_connects_by_itself_once_redis_is_up() {
    let redis = PrivateRedis::start()
        .await
        .unwrap_or_else(|e| panic!("a private Redis starts: {e}"));
    redis.stop().await;
    let log = RedisLog::connect(config(redis.uri()))
        .await
        .expect("connect succeeds while Redis is down");
    redis.start_again().await.expect("Redis starts again");
    // No call of ours connects: the server sees a second client besides the admin connection
    // only when the background connector has connected.
    let client = redis::Client::open(redis.uri()).expect("admin client");
    wait_until("the log to connect in the background", RECOVERY, || {
        let client = client.clone();
        async move {
            let Ok(mut admin) = client.get_multiplexed_async_connection().await else {
                return false;
            };
            let clients: redis::RedisResult<String> = redis::cmd("CLIENT")
                .arg("LIST")
                .query_async(&mut admin)
                .await;
            clients.is_ok_and(|list| list.lines().count() >= 2)
        }
    })
    .await
    .expect("the log connects by itself");
    log.ping()
        .await
        .expect("the log answers without having called before");
}

#[tokio::test]
async fn a_config_that_can_never_work_still_fails_connect() {
    let empty_namespace =
        RedisLog::connect(RedisConfig::new("redis://127.0.0.1:1/0").namespace("")).await;
    assert!(
        matches!(empty_namespace, Err(TaskLogError::InvalidQuery(_))),
        "empty namespace: {empty_namespace:?}"
    );
    let started = Instant::now();
    let malformed = RedisLog::connect(RedisConfig::new("not a uri").namespace("cogman-down")).await;
    assert!(
        matches!(malformed, Err(TaskLogError::InvalidQuery(_))),
        "malformed URI: {malformed:?}"
    );
    assert!(
        started.elapsed() < CONNECT_TIMEOUT,
        "a malformed URI fails at once"
    );
}
