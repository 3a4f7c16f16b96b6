//! Shared by the PostgreSQL test binaries: a log in a fresh schema (with its own
//! `application_name`) on the local server, and a guard that drops that schema when the test
//! ends.

#![allow(dead_code, unreachable_pub)]

use std::str::FromStr as _;

use cogman_postgres::{PostgresConfig, PostgresLog};
use cogman_testkit::servers::SharedCleanup;
use sqlx_core::connection::Connection as _;
use sqlx_postgres::{PgConnectOptions, PgConnection};

/// The local test database.
pub const POSTGRES_URI: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A schema that is dropped (with everything in it) when the guard is dropped, also when the
/// test panics.
#[derive(Debug)]
pub struct SchemaGuard {
    pub schema: String,
    _cleanup: SharedCleanup,
}

impl SchemaGuard {
    pub fn new(schema: &str) -> Self {
        SchemaGuard {
            schema: schema.to_owned(),
            _cleanup: SharedCleanup::new().postgres_schema(POSTGRES_URI, schema),
        }
    }
}

/// A single connection for poking at the server in tests.
pub async fn admin() -> Result<PgConnection, sqlx_core::Error> {
    let options = PgConnectOptions::from_str(POSTGRES_URI)?.application_name("cogman-test-admin");
    PgConnection::connect_with(&options).await
}

/// A unique schema (and application name) for one test.
pub fn unique_name(test: &str) -> String {
    format!("cogman_test_{test}_{}", uuid::Uuid::now_v7().simple())
}

/// A config for a fresh schema with a small pool.
pub fn config(test: &str) -> PostgresConfig {
    let name = unique_name(test);
    PostgresConfig::new(POSTGRES_URI)
        .schema(name.clone())
        .application_name(name)
        .max_connections(4)
}

/// A log in a fresh schema plus the guard that drops it.
pub async fn fresh_log(test: &str) -> (PostgresLog, SchemaGuard) {
    fresh_log_with(config(test)).await
}

/// A log with `config` plus the guard that drops its schema.
pub async fn fresh_log_with(config: PostgresConfig) -> (PostgresLog, SchemaGuard) {
    let guard = SchemaGuard::new(&config.schema);
    let log = PostgresLog::connect(config)
        .await
        .expect("the local PostgreSQL on 127.0.0.1:5432 (database test) must be running");
    (log, guard)
}

/// The number of SQL files in `migrations/`.
pub fn migration_files() -> i64 {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
    let count = std::fs::read_dir(dir)
        .expect("migrations directory")
        .filter(|entry| {
            entry
                .as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|ext| ext == "sql"))
        })
        .count();
    i64::try_from(count).expect("few migrations")
}
