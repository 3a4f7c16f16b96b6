//! Runs the testkit's TaskLog and Broker conformance suites against the SQLite store, each
//! test on its own temporary file.

mod common;

use common::fresh_store;

cogman_testkit::task_log_conformance!(async { fresh_store() });
cogman_testkit::broker_conformance!(async { fresh_store() });
