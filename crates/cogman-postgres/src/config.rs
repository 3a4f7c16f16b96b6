//! [`PostgresConfig`]: where the durable task log lives, how long it keeps tasks, the pool
//! size, and the group-commit batching of writes ([`GroupCommit`]). `Debug` never shows a
//! password.

use std::fmt;
use std::time::Duration;

use cogman_core::{GroupCommit, TaskLogError, redact_uri};

/// Settings of a [`crate::PostgresLog`].
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresConfig {
    /// Connection URI, e.g. `postgres://user:secret@127.0.0.1:5432/app`.
    pub uri: String,
    /// The schema that holds every table and function; created (and migrated) on connect.
    /// Lowercase letters, digits and `_`, starting with a letter or `_`. Default `cogman`.
    pub schema: String,
    /// Most pooled connections. Default 10.
    pub max_connections: u32,
    /// Longest wait for a pooled connection. Default 5 s.
    pub acquire_timeout: Duration,
    /// `application_name` of every connection (shown in `pg_stat_activity`). Default `cogman`.
    pub application_name: String,
    /// How concurrent writes are batched into shared transactions.
    pub group_commit: GroupCommit,
    /// How long a change recorded with `record_behind` may wait for a later change of the
    /// same task, to be written with it in one row write. Default 100 ms; zero writes it at
    /// once (still without the caller waiting).
    pub merge_window: Duration,
    /// How many times a call cut by a lost connection, a deadlock or a serialization failure
    /// is retried (every write is idempotent). Default 6.
    pub retries: u32,
}

impl PostgresConfig {
    /// The default merge window of held-back changes: 100 ms.
    pub const DEFAULT_MERGE_WINDOW: Duration = Duration::from_millis(100);

    /// Defaults for the database at `uri`.
    pub fn new(uri: impl Into<String>) -> Self {
        PostgresConfig {
            uri: uri.into(),
            schema: "cogman".to_owned(),
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
            application_name: "cogman".to_owned(),
            group_commit: GroupCommit::default(),
            merge_window: Self::DEFAULT_MERGE_WINDOW,
            retries: 6,
        }
    }

    /// Sets the schema.
    #[must_use]
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = schema.into();
        self
    }

    /// Sets the pool size.
    #[must_use]
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max;
        self
    }

    /// Sets the `application_name` of the connections.
    #[must_use]
    pub fn application_name(mut self, name: impl Into<String>) -> Self {
        self.application_name = name.into();
        self
    }

    /// Sets the group-commit settings.
    #[must_use]
    pub fn group_commit(mut self, group_commit: GroupCommit) -> Self {
        self.group_commit = group_commit;
        self
    }

    /// Sets the merge window of held-back changes.
    #[must_use]
    pub fn merge_window(mut self, window: Duration) -> Self {
        self.merge_window = window;
        self
    }

    /// Checks the fields that are put into SQL or sizes.
    ///
    /// # Errors
    /// [`TaskLogError::InvalidQuery`] naming the bad field.
    pub fn validate(&self) -> Result<(), TaskLogError> {
        if !is_identifier(&self.schema) {
            return Err(TaskLogError::InvalidQuery(format!(
                "schema {:?} must be 1 to 63 lowercase letters, digits or '_', not starting with a digit",
                self.schema
            )));
        }
        if self.max_connections == 0 || self.group_commit.in_flight == 0 {
            return Err(TaskLogError::InvalidQuery(
                "max_connections and group_commit.in_flight must be at least 1".into(),
            ));
        }
        if self.group_commit.max_batch == 0 {
            return Err(TaskLogError::InvalidQuery(
                "group_commit.max_batch must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig::new("postgres://postgres@127.0.0.1:5432/postgres")
    }
}

impl fmt::Debug for PostgresConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresConfig")
            .field("uri", &redact_uri(&self.uri))
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout", &self.acquire_timeout)
            .field("application_name", &self.application_name)
            .field("group_commit", &self.group_commit)
            .field("merge_window", &self.merge_window)
            .field("retries", &self.retries)
            .finish()
    }
}

/// A plain, unquoted-safe SQL identifier.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name.len() <= 63
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let config = PostgresConfig::new("postgres://app:hunter2@db:5432/x");
        let shown = format!("{config:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("postgres://app:***@db:5432/x"), "{shown}");
    }

    #[test]
    fn schemas_must_be_plain_identifiers() {
        let ok = |s: &str| PostgresConfig::default().schema(s).validate().is_ok();
        assert!(ok("cogman"));
        assert!(ok("_t_123"));
        assert!(!ok(""));
        assert!(!ok("9x"));
        assert!(!ok("Cogman"));
        assert!(!ok("a\"; drop table x; --"));
        assert!(!ok(&"a".repeat(64)));
    }

    #[test]
    fn defaults_match_the_seed() {
        let config = PostgresConfig::default();
        assert_eq!(config.schema, "cogman");
        assert_eq!(config.max_connections, 10);
    }
}
