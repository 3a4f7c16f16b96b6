//! The embedded SQLite file: its config section, [`SqliteConfig`], and [`open`], which opens
//! the file as both a broker and a task log.

use std::path::PathBuf;
use std::time::Duration;

use cogman_sqlite::{SqliteOptions, SqliteStore};
use serde::{Deserialize, Serialize};

use super::backend_error;
use crate::config::{Config, ConfigError, check_positive, fail};
use crate::error::Error;

/// The `[sqlite]` section: the file of the embedded mode, which holds the queue unless RabbitMQ
/// is set and the task log unless Redis or PostgreSQL is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SqliteConfig {
    /// The SQLite file; processes in one folder share it. Default `cogman.db`.
    pub path: PathBuf,
    /// How long the file keeps a finished task, when it is the task log, before the purge
    /// deletes it (unfinished tasks are kept). Default 30 days, as PostgreSQL.
    #[serde(with = "humantime_serde")]
    pub ttl: Duration,
}

impl Default for SqliteConfig {
    fn default() -> Self {
        SqliteConfig {
            path: PathBuf::from("cogman.db"),
            ttl: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

impl SqliteConfig {
    /// Checks the section.
    ///
    /// # Errors
    /// A [`ConfigError`] naming `sqlite.path` when it names no file, or `sqlite.ttl` when it
    /// is zero.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.path.as_os_str().is_empty() {
            return Err(fail("sqlite.path", "must name a file"));
        }
        check_positive("sqlite.ttl", self.ttl)
    }
}

/// Opens (creating if needed) the SQLite file of `config`. When the task log is PostgreSQL or
/// Redis, the file's queue hands its dead letters over to it.
pub(super) async fn open(config: &Config) -> Result<SqliteStore, Error> {
    let mut options = SqliteOptions::new(config.sqlite.path.clone());
    options.max_deliveries = config.max_deliveries;
    options.hand_over_dead_letters = config.redis.uri.is_some() || config.postgres.uri.is_some();
    tokio::task::spawn_blocking(move || SqliteStore::open(options))
        .await
        .map_err(|e| backend_error("sqlite", e))?
        .map_err(|e| backend_error("sqlite", e))
}
