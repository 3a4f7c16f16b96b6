//! [`Db`]: the database as the reading helpers see it — the schema gate, which hands out the
//! pool once the schema is up to date, and how often a call cut by a lost connection is
//! retried. The helpers (`read`, `list`, `counts`, `purge`) take it, as the SQLite crate's
//! helpers take a connection; the [`PostgresLog`](crate::PostgresLog) handle owns one.

use std::sync::Arc;

use cogman_core::TaskLogError;
use sqlx_postgres::PgPool;

use crate::gate::SchemaGate;

/// The schema gate and the retry count of one log.
#[derive(Debug)]
pub(crate) struct Db {
    gate: Arc<SchemaGate>,
    retries: u32,
}

impl Db {
    pub(crate) fn new(gate: Arc<SchemaGate>, retries: u32) -> Self {
        Db { gate, retries }
    }

    /// The pool, once the schema is up to date (see [`crate::gate`]).
    pub(crate) async fn pool(&self) -> Result<&PgPool, TaskLogError> {
        self.gate.pool().await
    }

    /// Ok once the schema is up to date (see [`crate::gate`]).
    pub(crate) async fn ready(&self) -> Result<(), TaskLogError> {
        self.gate.ready().await
    }

    /// How often a call cut by a lost connection is retried.
    pub(crate) fn retries(&self) -> u32 {
        self.retries
    }

    /// Closes the pool: waits for checked-out connections to come back and closes them all.
    pub(crate) async fn close(&self) {
        self.gate.close().await;
    }
}
