//! Runs the TaskLog conformance suite (through its macro, from an outside crate) on the
//! testkit's in-memory reference log: once holding changes back for its default time, and once
//! holding them longer than the suite's calls take, so that `flush` is what writes them.

use std::sync::Arc;
use std::time::Duration;

use cogman_testkit::MemoryLog;

cogman_testkit::task_log_conformance!(async { Arc::new(MemoryLog::default()) });

mod holding_long {
    use super::*;

    cogman_testkit::task_log_conformance!(async {
        Arc::new(MemoryLog::holding_for(Duration::from_secs(2)))
    });
}
