//! PostgreSQL-specific behaviour beyond the conformance suite: the SQL rank column against
//! the Rust rank of every state (the suite checks `record` for every pair of states),
//! concurrent migrations, out-of-order writes from several pools, the outbox under two
//! claimers and with clients whose clocks are off, and the purge (one at a time, under an
//! advisory lock).

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeDelta, Utc};
use cogman_core::{Outbox as _, TaskLog, TaskState};
use cogman_postgres::PostgresLog;
use cogman_testkit::{sample, stress, wait_until};
use sqlx_core::connection::Connection as _;
use sqlx_core::sql_str::AssertSqlSafe;

#[tokio::test]
async fn the_rank_column_follows_the_rust_rank_for_every_state() {
    let (log, guard) = support::fresh_log("ranks").await;
    let mut admin = support::admin().await.expect("admin connection");
    for state in TaskState::ALL {
        let mut task = sample::task("rank");
        task.status = state;
        log.create(&task).await.expect("create");
        let rank: i16 = sqlx_core::query_scalar::query_scalar(AssertSqlSafe(format!(
            "SELECT status_rank FROM \"{}\".tasks WHERE id = $1",
            guard.schema
        )))
        .bind(task.id.as_uuid())
        .fetch_one(&mut admin)
        .await
        .expect("rank query");
        assert_eq!(rank, i16::from(state.rank()), "SQL rank of {state}");
    }
    admin.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_connecting_at_once_apply_each_migration_once() {
    let config = support::config("migrate");
    let _guard = support::SchemaGuard::new(&config.schema);
    let (a, b, c) = tokio::join!(
        PostgresLog::connect(config.clone()),
        PostgresLog::connect(config.clone()),
        PostgresLog::connect(config.clone()),
    );
    for log in [a, b, c] {
        log.expect("every process connects");
    }
    let mut admin = support::admin().await.expect("admin connection");
    let versions: Vec<i64> = sqlx_core::query_scalar::query_scalar(AssertSqlSafe(format!(
        "SELECT version FROM \"{}\".schema_migrations ORDER BY version",
        config.schema
    )))
    .fetch_all(&mut admin)
    .await
    .expect("versions");
    let expected: Vec<i64> = (1..=support::migration_files()).collect();
    assert_eq!(versions, expected, "each migration recorded once");
    assert!(
        versions.len() >= 4,
        "the merged-changes migration is among them"
    );
    admin.close().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_writes_from_several_pools_never_go_backwards() {
    let (first, _guard) = support::fresh_log("order").await;
    let mut logs: Vec<Arc<dyn TaskLog>> = vec![Arc::new(first.clone())];
    for _ in 0..2 {
        let another = PostgresLog::connect(first.config().clone())
            .await
            .expect("another pool");
        logs.push(Arc::new(another));
    }
    stress::reversed_writes_never_go_backwards(&logs, 40).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_claimers_get_disjoint_sets_of_initiated_tasks_only() {
    let (a, _guard) = support::fresh_log("outbox").await;
    let b = PostgresLog::connect(a.config().clone())
        .await
        .expect("second pool");
    let old = Utc::now() - TimeDelta::minutes(5);
    let initiated: Vec<_> = (0..50)
        .map(|_| sample::task_created_at("pg.outbox", old))
        .collect();
    let mut queued: Vec<_> = (0..20)
        .map(|_| sample::task_created_at("pg.outbox", old))
        .collect();
    for task in &mut queued {
        task.status = TaskState::Queued;
    }
    for task in initiated.iter().chain(&queued) {
        a.create(task).await.expect("create");
    }
    let claimer = |log: PostgresLog| async move {
        let mut mine = Vec::new();
        loop {
            let batch = log
                .claim_unpublished(Duration::ZERO, 7, Duration::from_secs(60))
                .await
                .expect("claim");
            if batch.is_empty() {
                return mine;
            }
            for task in batch {
                assert_eq!(
                    task.status,
                    TaskState::Initiated,
                    "only initiated tasks are claimed"
                );
                mine.push(task.id);
            }
        }
    };
    let (mine_a, mine_b) = tokio::join!(tokio::spawn(claimer(a.clone())), tokio::spawn(claimer(b)));
    let (mine_a, mine_b) = (mine_a.expect("claimer a"), mine_b.expect("claimer b"));
    let set_a: HashSet<_> = mine_a.iter().copied().collect();
    let set_b: HashSet<_> = mine_b.iter().copied().collect();
    assert_eq!(
        set_a.len() + set_b.len(),
        mine_a.len() + mine_b.len(),
        "no task twice"
    );
    assert!(set_a.is_disjoint(&set_b), "no task claimed by both");
    let all: HashSet<_> = set_a.union(&set_b).copied().collect();
    assert_eq!(
        all,
        initiated.iter().map(|t| t.id).collect(),
        "all 50 initiated tasks"
    );
}

/// Clients whose clocks are off: a task whose `created_at` is an hour in the past (its
/// sender's clock runs behind) is not claimed while it is young, and one an hour in the future
/// (clock ahead) is claimed as soon as it is old enough: ages come from the server's clock.
#[tokio::test]
async fn the_outbox_measures_ages_by_the_servers_clock() {
    const MIN_AGE: Duration = Duration::from_secs(2);
    let (log, _guard) = support::fresh_log("outbox_clock").await;
    let behind = sample::task_created_at("pg.clock", Utc::now() - TimeDelta::hours(1));
    let ahead = sample::task_created_at("pg.clock", Utc::now() + TimeDelta::hours(1));
    log.create(&behind).await.expect("create");
    log.create(&ahead).await.expect("create");
    let young = log
        .claim_unpublished(MIN_AGE, 10, Duration::from_secs(60))
        .await
        .expect("claim");
    assert!(
        young.is_empty(),
        "a task recorded just now is young, whatever its created_at says: {young:?}"
    );
    let claimed = std::sync::Mutex::new(HashSet::new());
    wait_until(
        "both tasks to be old enough",
        Duration::from_secs(20),
        || {
            let claim = log.claim_unpublished(MIN_AGE, 10, Duration::from_secs(60));
            let claimed = &claimed;
            async move {
                let batch = claim.await.expect("claim");
                let mut claimed = claimed.lock().expect("invariant: not poisoned");
                claimed.extend(batch.iter().map(|t| t.id));
                claimed.len() == 2
            }
        },
    )
    .await
    .expect("claimed once old enough by the server's clock, not an hour later");
    assert_eq!(
        claimed.into_inner().expect("invariant: not poisoned"),
        HashSet::from([behind.id, ahead.id])
    );
}

#[tokio::test]
async fn one_purge_runs_at_a_time_and_deletes_only_old_final_tasks() {
    let (log, guard) = support::fresh_log("purge_lock").await;
    let two_days_ago = Utc::now() - TimeDelta::days(2);
    let cutoff = Utc::now() - TimeDelta::days(1);
    let mut old_done = sample::task_created_at("pg.purge", two_days_ago);
    old_done.status = TaskState::Success;
    let old_running = {
        let mut task = sample::task_created_at("pg.purge", two_days_ago);
        task.status = TaskState::InProgress;
        task
    };
    let mut fresh_done = sample::task("pg.purge");
    fresh_done.status = TaskState::Failed;
    for task in [&old_done, &old_running, &fresh_done] {
        log.create(task).await.expect("create");
    }

    // Another process purging this schema holds the lock: this purge leaves everything.
    let mut other = support::admin().await.expect("admin connection");
    let lock = format!("cogman purge {}", guard.schema);
    let taken: bool =
        sqlx_core::query_scalar::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
            .bind(&lock)
            .fetch_one(&mut other)
            .await
            .expect("take the purge lock");
    assert!(taken, "nobody else holds the purge lock of a fresh schema");
    assert_eq!(log.purge_before(cutoff).await.expect("purge"), 0);
    assert!(
        log.get(old_done.id).await.expect("get").is_some(),
        "skipped while locked"
    );

    // Released: the purge runs, and leaves the lock free again.
    let _: bool = sqlx_core::query_scalar::query_scalar("SELECT pg_advisory_unlock(hashtext($1))")
        .bind(&lock)
        .fetch_one(&mut other)
        .await
        .expect("release the purge lock");
    assert_eq!(log.purge_before(cutoff).await.expect("purge"), 1);
    assert!(log.get(old_done.id).await.expect("get").is_none());
    assert!(
        log.history(old_done.id).await.expect("history").is_empty(),
        "events purged too"
    );
    assert!(
        log.get(old_running.id).await.expect("get").is_some(),
        "unfinished tasks stay"
    );
    assert!(
        log.get(fresh_done.id).await.expect("get").is_some(),
        "recent tasks stay"
    );
    let free: bool =
        sqlx_core::query_scalar::query_scalar("SELECT pg_try_advisory_lock(hashtext($1))")
            .bind(&lock)
            .fetch_one(&mut other)
            .await
            .expect("take the purge lock again");
    assert!(free, "the purge released its lock");
    other.close().await.expect("close admin");
}
