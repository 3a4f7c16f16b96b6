//! Starting while PostgreSQL is down: `connect` answers at once, every call answers
//! `Unavailable` until the server is up, then the schema is migrated (each version once, also
//! with two processes racing) and the log works without being reopened. A config that can
//! never work still fails `connect`.

mod support;

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use cogman_core::{Outbox as _, TaskLog, TaskLogError, WorkerRegistry as _};
use cogman_postgres::{PostgresConfig, PostgresLog};
use cogman_testkit::servers::PrivatePostgres;
use cogman_testkit::{sample, wait_until};
use sqlx_core::connection::Connection as _;
use sqlx_core::sql_str::AssertSqlSafe;
use sqlx_postgres::PgConnection;

/// How long the log may take to become usable once the server is up.
const RECOVERY: Duration = Duration::from_secs(30);
/// Longest wait for a pooled connection in these tests.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(2);

fn config(uri: String) -> PostgresConfig {
    let mut config = PostgresConfig::new(uri)
        .schema("cogman_down")
        .max_connections(4);
    config.acquire_timeout = ACQUIRE_TIMEOUT;
    config
}

/// Connects while the server is down: Ok, and well before a pooled connection could time out.
async fn connect_while_down(config: PostgresConfig) -> PostgresLog {
    let started = Instant::now();
    let log = PostgresLog::connect(config)
        .await
        .expect("connect succeeds while PostgreSQL is down");
    let took = started.elapsed();
    eprintln!("connect while PostgreSQL is down answered in {took:?}");
    assert!(took < ACQUIRE_TIMEOUT, "connect answered in {took:?}");
    log
}

/// Asserts that `result` is a quick `Unavailable`.
fn assert_unavailable<T: std::fmt::Debug>(what: &str, result: Result<T, TaskLogError>) {
    match result {
        Err(TaskLogError::Unavailable(_)) => {}
        other => panic!("{what} while PostgreSQL is down: expected Unavailable, got {other:?}"),
    }
}

/// Retries `create` until it lands; only `Unavailable` may come before.
async fn create_until_it_lands(log: &PostgresLog, task: &cogman_core::Task) {
    wait_until(
        "a write to land once PostgreSQL is up",
        RECOVERY,
        || async {
            match log.create(task).await {
                Ok(()) => true,
                Err(error) if error.is_transient() => false,
                Err(error) => panic!("a write failed for good: {error:?}"),
            }
        },
    )
    .await
    .expect("the write lands without reopening the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_opened_while_postgres_is_down_works_once_it_is_up() {
    let postgres = PrivatePostgres::start()
        .await
        .unwrap_or_else(|e| panic!("a private PostgreSQL starts: {e}"));
    postgres.stop().await.expect("pg_ctl stop");
    let config = config(postgres.uri());
    // Two processes opening the same schema while the server is down.
    let first = connect_while_down(config.clone()).await;
    let second = connect_while_down(config.clone()).await;

    let task = sample::task("pg.down");
    let calls = Instant::now();
    assert_unavailable("create", first.create(&task).await);
    assert_unavailable("get", first.get(task.id).await);
    assert_unavailable("history", second.history(task.id).await);
    assert_unavailable(
        "claim",
        second
            .claim_unpublished(Duration::ZERO, 10, Duration::from_secs(60))
            .await,
    );
    assert_unavailable(
        "deregister",
        first.deregister("worker-that-never-was").await,
    );
    assert_unavailable("purge", first.purge_before(Utc::now()).await);
    let took = calls.elapsed();
    eprintln!("six calls while PostgreSQL is down answered in {took:?}");
    assert!(took < ACQUIRE_TIMEOUT, "six calls answered in {took:?}");

    postgres
        .start_again()
        .await
        .expect("PostgreSQL starts again");
    let up = Instant::now();
    create_until_it_lands(&first, &task).await;
    eprintln!(
        "the first write landed {:?} after the server was up",
        up.elapsed()
    );
    let mut old_done = sample::task_created_at("pg.down", Utc::now() - TimeDelta::hours(2));
    old_done.status = cogman_core::TaskState::Success;
    create_until_it_lands(&second, &old_done).await;

    cogman_testkit::assert_reads_back(&second, &task).await;

    let mut admin = PgConnection::connect(&postgres.uri())
        .await
        .expect("admin connection to the private server");
    let versions: Vec<(i64, i64)> = sqlx_core::query_as::query_as(AssertSqlSafe(format!(
        "SELECT version, count(*) FROM \"{}\".schema_migrations GROUP BY version ORDER BY version",
        config.schema
    )))
    .fetch_all(&mut admin)
    .await
    .expect("applied versions");
    let expected: Vec<(i64, i64)> = (1..=support::migration_files()).map(|v| (v, 1)).collect();
    assert_eq!(versions, expected, "every migration applied exactly once");
    admin.close().await.expect("close admin");

    wait_until("a purge to delete the old final task", RECOVERY, || {
        let first = first.clone();
        async move {
            let _ = first.purge_before(Utc::now() - TimeDelta::hours(1)).await;
            matches!(first.get(old_done.id).await, Ok(None))
        }
    })
    .await
    .expect("the log that was down at connect purges once PostgreSQL is up");
    first.close().await;
    second.close().await;
}

#[tokio::test]
async fn a_missing_database_fails_connect_for_good() {
    let uri = support::POSTGRES_URI.replace("/test", "/cogman_no_such_database");
    let error = PostgresLog::connect(PostgresConfig::new(uri))
        .await
        .expect_err("a database that does not exist cannot be used");
    assert!(
        matches!(error, TaskLogError::Other(_)),
        "not transient: {error:?}"
    );
    assert!(
        format!("{:?}", error).contains("does not exist"),
        "says why: {error:?}"
    );
}

#[tokio::test]
async fn a_bad_config_fails_connect_at_once() {
    let bad_schema = PostgresConfig::new(support::POSTGRES_URI).schema("Not-An-Identifier");
    let error = PostgresLog::connect(bad_schema)
        .await
        .expect_err("bad schema name");
    assert!(
        matches!(error, TaskLogError::InvalidQuery(ref m) if m.contains("schema")),
        "{error:?}"
    );
    let error = PostgresLog::connect(PostgresConfig::new("postgres://127.0.0.1:99999/test"))
        .await
        .expect_err("a port out of range");
    assert!(
        matches!(error, TaskLogError::InvalidQuery(ref m) if m.contains("URI")),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_migration_that_fails_fails_connect() {
    let config = support::config("badmigration");
    let guard = support::SchemaGuard::new(&config.schema);
    let mut admin = support::admin().await.expect("admin connection");
    // A `schema_migrations` of another shape: reading the applied versions fails.
    sqlx_core::raw_sql::raw_sql(AssertSqlSafe(format!(
        "CREATE SCHEMA \"{0}\"; CREATE TABLE \"{0}\".schema_migrations (other int)",
        guard.schema
    )))
    .execute(&mut admin)
    .await
    .expect("a foreign schema_migrations table");
    admin.close().await.expect("close admin");
    let error = PostgresLog::connect(config)
        .await
        .expect_err("the migration cannot run");
    assert!(
        matches!(error, TaskLogError::Other(_)),
        "not transient: {error:?}"
    );
}
