//! Helpers shared by this crate's integration tests: fresh files in temporary directories.

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;
use std::sync::Arc;

use cogman_core::{Broker, QueueStats, Task, TaskState};
use cogman_sqlite::{SqliteOptions, SqliteStore};
use cogman_testkit::Guarded;
use tempfile::TempDir;

/// A temporary directory and the database path inside it.
pub fn temp_db() -> (TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("create a temporary directory");
    let path = dir.path().join("cogman.db");
    (dir, path)
}

/// Opens a store on `options`, failing the test on error.
pub fn open(options: SqliteOptions) -> SqliteStore {
    SqliteStore::open(options).expect("open the store")
}

/// A store on a fresh file, with its directory kept alive as long as it.
pub fn fresh_store() -> Guarded<Arc<SqliteStore>> {
    let (dir, path) = temp_db();
    Guarded::new(Arc::new(open(SqliteOptions::new(path))), dir)
}

/// A task ready to publish.
pub fn queued(name: &str) -> Task {
    let mut task = cogman_testkit::sample::task(name);
    task.status = TaskState::Queued;
    task
}

/// The store's queue statistics.
pub async fn queue_stats(store: &SqliteStore) -> Vec<QueueStats> {
    store
        .queue_stats_source()
        .expect("the store has queue statistics")
        .queue_stats()
        .await
        .expect("queue statistics")
}
