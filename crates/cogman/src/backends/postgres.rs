//! PostgreSQL: its config section, [`PostgresConfig`], and [`open`], which connects the
//! durable task log.

use std::time::Duration;

use cogman_postgres::PostgresLog;
use serde::{Deserialize, Serialize};

use super::backend_error;
use crate::config::{Config, ConfigError, check_name, check_positive, check_uri, redacted};
use crate::error::Error;

/// The `[postgres]` section: PostgreSQL is the durable task log when `uri` is set (the seed's
/// MongoDB).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresConfig {
    /// PostgreSQL URI (`postgres://` or `postgresql://`).
    pub uri: Option<String>,
    /// How long the durable log keeps a finished task before the purge deletes it (unfinished
    /// tasks are kept). Default 30 days (the seed's `MongoTTL`).
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
    /// Schema of cogman's tables. Default `cogman`.
    pub schema: String,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig {
            uri: None,
            ttl: Duration::from_secs(30 * 24 * 3600),
            schema: "cogman".into(),
        }
    }
}

impl PostgresConfig {
    /// The defaults with PostgreSQL at `uri`.
    pub fn new(uri: impl Into<String>) -> Self {
        PostgresConfig {
            uri: Some(uri.into()),
            ..PostgresConfig::default()
        }
    }

    /// Checks the section.
    ///
    /// # Errors
    /// The first [`ConfigError`] found, naming a `postgres.*` field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_uri(
            "postgres.uri",
            self.uri.as_deref(),
            &["postgres", "postgresql"],
        )?;
        check_positive("postgres.ttl", self.ttl)?;
        check_name("postgres.schema", &self.schema, false)
    }
}

impl std::fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("uri", &redacted(self.uri.as_deref()))
            .field("ttl", &self.ttl)
            .field("schema", &self.schema)
            .finish()
    }
}

/// Connects the PostgreSQL task log at `uri` with the settings of `config`.
pub(super) async fn open(uri: &str, config: &Config) -> Result<PostgresLog, Error> {
    let mut postgres = cogman_postgres::PostgresConfig::new(uri);
    postgres.schema.clone_from(&config.postgres.schema);
    // A log write may wait this long for a connection (the seed's RequestTimeout).
    postgres.acquire_timeout = config.request_timeout;
    PostgresLog::connect(postgres)
        .await
        .map_err(|e| backend_error("postgres", e))
}
