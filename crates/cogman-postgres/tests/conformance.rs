//! The testkit's TaskLog conformance suite against PostgreSQL, each test in its own schema.

mod support;

use std::sync::Arc;

use cogman_testkit::Guarded;

cogman_testkit::task_log_conformance!(async {
    let (log, guard) = support::fresh_log("conformance").await;
    Guarded::new(Arc::new(log), guard)
});
