//! The testkit's TaskLog conformance suite against PostgreSQL, each test in its own schema.
//! Changes are held back for 2 s (longer than the suite's calls take, shorter than its
//! deadline), so that `flush` is what writes them.

mod support;

use std::sync::Arc;
use std::time::Duration;

use cogman_testkit::Guarded;

cogman_testkit::task_log_conformance!(async {
    let config = support::config("conformance").merge_window(Duration::from_secs(2));
    let (log, guard) = support::fresh_log_with(config).await;
    Guarded::new(Arc::new(log), guard)
});
