//! Writes to the task log, run inside the writer's transaction: `create`, `record` (read the
//! current state, decide with [`apply_change`], write, append history) and `purge_before`.
//! The broker's poison handling calls [`record`] too, in the same transaction as its
//! dead-lettering.

use cogman_core::{
    HistoryNote, NoteOutcome, RecordOutcome, StateChange, Task, TaskState, apply_change,
};
use rusqlite::{Connection, OptionalExtension as _, params, params_from_iter};

use super::row::{insert_task, parse_state};
use crate::error::SqliteError;
use crate::time::{from_ns, to_ns};

/// Stores a new task; an existing record only moves forward, as with [`record`].
pub(crate) fn create(conn: &Connection, task: &Task) -> Result<(), SqliteError> {
    refuse_taken_attempt(conn, task)?;
    if insert_task(conn, task)? {
        return Ok(());
    }
    record(conn, &StateChange::from_task(task)).map(|_| ())
}

/// A chain's attempt numbers are unique (the unique index `tasks_attempt` enforces it; this
/// names the record that has the number). Checked in the writer's transaction, so two creates
/// of one attempt cannot both pass. A first attempt is its own chain: nothing to check.
fn refuse_taken_attempt(conn: &Connection, task: &Task) -> Result<(), SqliteError> {
    if task.original_task_id == task.id {
        return Ok(());
    }
    let taken: Option<String> = conn
        .prepare_cached(
            "SELECT id FROM tasks WHERE original_task_id = ?1 AND attempt = ?2 AND id <> ?3",
        )?
        .query_row(
            params![
                task.original_task_id.to_string(),
                i64::from(task.attempt),
                task.id.to_string()
            ],
            |row| row.get(0),
        )
        .optional()?;
    match taken {
        None => Ok(()),
        Some(id) => Err(SqliteError::AttemptTaken {
            original: task.original_task_id,
            attempt: task.attempt,
            taken_by: id.parse().map_err(|e: cogman_core::ValidationError| {
                SqliteError::Corrupt {
                    id: id.clone(),
                    reason: e.to_string(),
                }
            })?,
        }),
    }
}

/// The mutable part of a stored task: what [`apply_change`] may change.
struct Current {
    status: String,
    updated_at: i64,
    fail_error: Option<String>,
    result: Option<Vec<u8>>,
    duration: Option<f64>,
}

/// Applies `change` under the transition rule and appends it to the history when applied.
pub(crate) fn record(
    conn: &Connection,
    change: &StateChange,
) -> Result<RecordOutcome, SqliteError> {
    let id = change.task_id.to_string();
    let current = conn
        .prepare_cached(
            "SELECT status, updated_at, fail_error, result, duration FROM tasks WHERE id = ?1",
        )?
        .query_row([&id], |row| {
            Ok(Current {
                status: row.get(0)?,
                updated_at: row.get(1)?,
                fail_error: row.get(2)?,
                result: row.get(3)?,
                duration: row.get(4)?,
            })
        })
        .optional()?;
    let Some(current) = current else {
        return Ok(RecordOutcome::Missing);
    };

    // The record with only the fields the rule reads or writes; the rest are not loaded.
    let mut task = Task {
        status: parse_state(&id, &current.status)?,
        updated_at: from_ns(current.updated_at),
        fail_error: current.fail_error,
        result: current.result,
        duration: current.duration,
        ..Task::from_spec(
            cogman_core::TaskSpec::default(),
            from_ns(current.updated_at),
        )
    };
    let outcome = apply_change(&mut task, change);
    if outcome != RecordOutcome::Applied {
        return Ok(outcome);
    }
    conn.prepare_cached(
        "UPDATE tasks SET status = ?2, updated_at = ?3, fail_error = ?4, result = ?5, \
         duration = ?6 WHERE id = ?1",
    )?
    .execute(params![
        id,
        task.status.as_str(),
        to_ns(task.updated_at),
        task.fail_error,
        task.result,
        task.duration,
    ])?;
    conn.prepare_cached(
        "INSERT INTO history (task_id, state, at, error, result, duration, worker) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        id,
        change.state.as_str(),
        to_ns(change.at),
        change.error,
        change.result,
        change.duration,
        change.worker,
    ])?;
    Ok(outcome)
}

/// Appends `note` to the task's history with the task's current state, if it has room.
pub(crate) fn note(conn: &Connection, note: &HistoryNote) -> Result<NoteOutcome, SqliteError> {
    let id = note.task_id.to_string();
    let status: Option<String> = conn
        .prepare_cached("SELECT status FROM tasks WHERE id = ?1")?
        .query_row([&id], |row| row.get(0))
        .optional()?;
    let Some(status) = status else {
        return Ok(NoteOutcome::Missing);
    };
    let held: i64 = conn
        .prepare_cached("SELECT count(*) FROM history WHERE task_id = ?1 AND note IS NOT NULL")?
        .query_row([&id], |row| row.get(0))?;
    if !cogman_core::note::has_room(usize::try_from(held).unwrap_or(usize::MAX)) {
        return Ok(NoteOutcome::Full);
    }
    let entry = note.entry(parse_state(&id, &status)?);
    conn.prepare_cached(
        "INSERT INTO history (task_id, state, at, worker, note) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        id,
        entry.state.as_str(),
        to_ns(entry.at),
        entry.worker,
        note.kind.as_str(),
    ])?;
    Ok(NoteOutcome::Added)
}

/// Deletes final tasks created before `cutoff_ns` whose chain of attempts has none unfinished,
/// with their history; returns how many.
pub(crate) fn purge_before(conn: &Connection, cutoff_ns: i64) -> Result<u64, SqliteError> {
    let finals: Vec<&str> = TaskState::ALL
        .into_iter()
        .filter(|s| s.is_final())
        .map(TaskState::as_str)
        .collect();
    let marks = vec!["?"; finals.len()].join(", ");
    // An attempt stays while another attempt of its chain still waits or runs.
    let selected = format!(
        "status IN ({marks}) AND created_at < ? AND NOT EXISTS (SELECT 1 FROM tasks o \
         WHERE o.original_task_id = tasks.original_task_id AND o.status NOT IN ({marks}))"
    );
    let finals: Vec<rusqlite::types::Value> =
        finals.iter().map(|s| (*s).to_owned().into()).collect();
    let mut args = finals.clone();
    args.push(cutoff_ns.into());
    args.extend(finals);
    conn.prepare_cached(&format!(
        "DELETE FROM history WHERE task_id IN (SELECT id FROM tasks WHERE {selected})"
    ))?
    .execute(params_from_iter(args.iter()))?;
    let deleted = conn
        .prepare_cached(&format!("DELETE FROM tasks WHERE {selected}"))?
        .execute(params_from_iter(args.iter()))?;
    Ok(deleted as u64)
}
