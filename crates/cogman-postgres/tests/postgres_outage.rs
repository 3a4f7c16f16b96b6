//! Outage resilience without disturbing the shared server: backends with this test's own
//! `application_name` are terminated (`pg_terminate_backend`) again and again while many
//! concurrent writes run; every write must land exactly once and no task may go backwards.

mod support;

use std::sync::Arc;

use cogman_testkit::stress;
use sqlx_core::connection::Connection as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_land_while_backends_are_terminated() {
    let config = support::config("outage");
    let app = config.application_name.clone();
    let (log, _guard) = support::fresh_log_with(config).await;
    let mut admin = support::admin().await.expect("admin connection");
    // Terminates every backend of this log after every 50 writes, so faults are spread over
    // the whole run.
    let terminated = stress::lifecycles_survive_faults(Arc::new(log), 200, 20, 50, async || {
        let n: i64 = sqlx_core::query_scalar::query_scalar(
            "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) \
             FROM pg_stat_activity WHERE application_name = $1",
        )
        .bind(&app)
        .fetch_one(&mut admin)
        .await
        .expect("terminate");
        usize::try_from(n).unwrap_or(0)
    })
    .await;
    admin.close().await.expect("close admin");
    eprintln!("terminated {terminated} backends during the run");
    assert!(
        terminated >= 3,
        "backends were terminated during the run: {terminated}"
    );
}
