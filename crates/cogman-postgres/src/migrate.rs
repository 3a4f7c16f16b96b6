//! Versioned migrations, all inside the configured schema (run by [`crate::gate`]). Each migration is a numbered SQL
//! file in `migrations/`, embedded at build time. They run in one transaction that first takes
//! a transaction-level advisory lock keyed by the schema, so two processes starting together
//! apply each migration exactly once; applied versions are recorded in
//! `{schema}.schema_migrations`.

use sqlx_core::connection::Connection as _;
use sqlx_core::executor::Executor as _;
use sqlx_core::raw_sql::raw_sql;
use sqlx_core::sql_str::AssertSqlSafe;
use sqlx_postgres::PgConnection;

/// (version, name, SQL), in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "tasks", include_str!("../migrations/0001_tasks.sql")),
    (2, "rank", include_str!("../migrations/0002_rank.sql")),
    (
        3,
        "rank_column",
        include_str!("../migrations/0003_rank_column.sql"),
    ),
    (
        4,
        "merged_changes",
        include_str!("../migrations/0004_merged_changes.sql"),
    ),
    (
        5,
        "recorded_at",
        include_str!("../migrations/0005_recorded_at.sql"),
    ),
    (
        6,
        "dead_letters",
        include_str!("../migrations/0006_dead_letters.sql"),
    ),
    (7, "queues", include_str!("../migrations/0007_queues.sql")),
    (
        8,
        "attempt_unique",
        include_str!("../migrations/0008_attempt_unique.sql"),
    ),
    (
        9,
        "schedules",
        include_str!("../migrations/0009_schedules.sql"),
    ),
    (
        10,
        "unique_keys",
        include_str!("../migrations/0010_unique_keys.sql"),
    ),
    (
        11,
        "paused_queues",
        include_str!("../migrations/0011_paused_queues.sql"),
    ),
    (
        12,
        "history_notes",
        include_str!("../migrations/0012_history_notes.sql"),
    ),
    (
        13,
        "task_limits",
        include_str!("../migrations/0013_task_limits.sql"),
    ),
];

/// First key of the advisory lock; the second is a hash of the schema name.
const LOCK_CLASS: i32 = 0x636f_676d; // "cogm"

/// Brings `schema` up to the newest version over `conn`; returns the versions applied now.
pub(crate) async fn migrate(
    conn: &mut PgConnection,
    schema: &str,
) -> Result<Vec<i64>, sqlx_core::Error> {
    let mut tx = conn.begin().await?;
    sqlx_core::query::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
        .bind(LOCK_CLASS)
        .bind(schema)
        .execute(&mut *tx)
        .await?;
    // `schema` is a validated plain identifier (PostgresConfig::validate).
    tx.execute(AssertSqlSafe(format!(
        "CREATE SCHEMA IF NOT EXISTS \"{schema}\"; SET LOCAL search_path TO \"{schema}\";"
    )))
    .await?;
    tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (\
            version bigint PRIMARY KEY, \
            name text NOT NULL, \
            applied_at timestamptz NOT NULL DEFAULT now())",
    )
    .await?;
    let done: Vec<i64> =
        sqlx_core::query_scalar::query_scalar("SELECT version FROM schema_migrations")
            .fetch_all(&mut *tx)
            .await?;
    let mut applied = Vec::new();
    for &(version, name, sql) in MIGRATIONS {
        if done.contains(&version) {
            continue;
        }
        raw_sql(sql).execute(&mut *tx).await?;
        sqlx_core::query::query("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)")
            .bind(version)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tracing::info!(schema, version, name, "applied migration");
        applied.push(version);
    }
    tx.commit().await?;
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    #[test]
    fn versions_are_numbered_in_order() {
        for (i, (version, _, _)) in MIGRATIONS.iter().enumerate() {
            assert_eq!(*version, i64::try_from(i).expect("few migrations") + 1);
        }
    }
}
