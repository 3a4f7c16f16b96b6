//! Schema migrations: numbered SQL files in `migrations/`, applied in order inside one
//! `BEGIN IMMEDIATE` transaction; the file's `PRAGMA user_version` is the number applied.

use rusqlite::{Connection, TransactionBehavior};

use crate::error::SqliteError;

/// Every migration, in order; migration `i` brings the schema to version `i + 1`.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_initial.sql"),
    include_str!("../migrations/0002_dead_letter_entries.sql"),
    include_str!("../migrations/0003_queues.sql"),
    include_str!("../migrations/0004_schedules.sql"),
    include_str!("../migrations/0005_attempt_unique.sql"),
    include_str!("../migrations/0006_handler_wait.sql"),
    include_str!("../migrations/0007_unique_keys.sql"),
    include_str!("../migrations/0008_paused_queues.sql"),
    include_str!("../migrations/0009_history_notes.sql"),
    include_str!("../migrations/0010_task_limits.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the file's schema to [`SCHEMA_VERSION`]. Safe when several processes open the file at
/// once: the immediate transaction serialises them and later ones find nothing to do.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), SqliteError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(SqliteError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let applied = usize::try_from(found).unwrap_or(0);
    for sql in MIGRATIONS.iter().skip(applied) {
        tx.execute_batch(sql)?;
    }
    if found != SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()?;
    Ok(())
}
