//! Reads of the task log, run on the reader connection: one task, filtered pages (newest first,
//! `id < cursor`), the oldest tasks (ascending), counts per state per bucket (grouped in SQL),
//! and history.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cogman_core::{
    BucketCount, CountQuery, Cursor, Page, PageRequest, StateChange, StatusCounts, Task,
    TaskFilter, TaskId,
};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension as _, params, params_from_iter};

use super::row::{RawTask, TASK_COLUMNS, parse_state};
use crate::error::SqliteError;
use crate::time::{duration_ns, from_ns, to_ns};

/// The task with `id`, if recorded.
pub(crate) fn get(conn: &Connection, id: TaskId) -> Result<Option<Task>, SqliteError> {
    conn.prepare_cached(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = ?1"))?
        .query_row([id.to_string()], RawTask::from_row)
        .optional()?
        .map(RawTask::into_task)
        .transpose()
}

/// One page of tasks passing `filter`, newest first.
pub(crate) fn list(
    conn: &Connection,
    filter: &TaskFilter,
    page: PageRequest,
) -> Result<Page, SqliteError> {
    let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT) as usize;
    let (mut sql, mut args) = select(filter);
    if let Some(Cursor(after)) = page.after {
        sql.push_str(" AND id < ?");
        args.push(after.to_string().into());
    }
    sql.push_str(" ORDER BY id DESC LIMIT ?");
    args.push(i64::try_from(limit + 1).unwrap_or(i64::MAX).into());
    let mut items = query_tasks(conn, &sql, &args)?;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|t| Cursor(t.id))
    } else {
        None
    };
    Ok(Page { items, next })
}

/// The (at most) `limit` oldest tasks passing `filter`, oldest first: the order of [`list`]
/// reversed, read directly.
pub(crate) fn oldest(
    conn: &Connection,
    filter: &TaskFilter,
    limit: u32,
) -> Result<Vec<Task>, SqliteError> {
    let (mut sql, mut args) = select(filter);
    sql.push_str(" ORDER BY id ASC LIMIT ?");
    args.push(i64::from(limit.clamp(1, PageRequest::MAX_LIMIT)).into());
    query_tasks(conn, &sql, &args)
}

/// `SELECT ... FROM tasks WHERE <filter>` and its arguments.
fn select(filter: &TaskFilter) -> (String, Vec<Value>) {
    let mut sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    if !filter.statuses.is_empty() {
        let marks = vec!["?"; filter.statuses.len()].join(", ");
        sql.push_str(&format!(" AND status IN ({marks})"));
        args.extend(filter.statuses.iter().map(|s| s.as_str().to_owned().into()));
    }
    let mut condition = |column: &str, op: &str, value: Value| {
        sql.push_str(&format!(" AND {column} {op} ?"));
        args.push(value);
    };
    if let Some(name) = &filter.name {
        condition("name", "=", name.clone().into());
    }
    if let Some(key) = &filter.primary_key {
        condition("primary_key", "=", key.clone().into());
    }
    if let Some(original) = filter.original_task_id {
        condition("original_task_id", "=", original.to_string().into());
    }
    if let Some(from) = filter.created_from {
        condition("created_at", ">=", to_ns(from).into());
    }
    if let Some(to) = filter.created_to {
        condition("created_at", "<", to_ns(to).into());
    }
    (sql, args)
}

/// Runs a task query.
fn query_tasks(conn: &Connection, sql: &str, args: &[Value]) -> Result<Vec<Task>, SqliteError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let raws = stmt
        .query_map(params_from_iter(args.iter()), RawTask::from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    raws.into_iter().map(RawTask::into_task).collect()
}

/// Counts per state per bucket of tasks created in the query's range.
pub(crate) fn counts(
    conn: &Connection,
    query: &CountQuery,
) -> Result<Vec<BucketCount>, SqliteError> {
    let (from, to) = (to_ns(query.from), to_ns(query.to));
    let mut buckets: BTreeMap<DateTime<Utc>, StatusCounts> = BTreeMap::new();
    let mut add = |start: DateTime<Utc>, status: String, n: i64| -> Result<(), SqliteError> {
        let state = parse_state("counts", &status)?;
        buckets
            .entry(start)
            .or_default()
            .add(state, u64::try_from(n).unwrap_or(0));
        Ok(())
    };
    match query.bucket {
        None => {
            let mut stmt = conn.prepare_cached(
                "SELECT status, COUNT(*) FROM tasks WHERE created_at >= ?1 AND created_at < ?2 \
                 GROUP BY status",
            )?;
            let rows = stmt
                .query_map(params![from, to], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<Result<Vec<(String, i64)>, _>>()?;
            for (status, n) in rows {
                add(query.from, status, n)?;
            }
        }
        Some(width) => {
            // Grouped in SQL; the start of each bucket comes from the core's definition,
            // applied to a task inside it.
            let mut stmt = conn.prepare_cached(
                "SELECT (created_at - ?1) / ?3 AS bucket, status, COUNT(*), MIN(created_at) \
                 FROM tasks WHERE created_at >= ?1 AND created_at < ?2 \
                 GROUP BY bucket, status",
            )?;
            let rows = stmt
                .query_map(params![from, to, duration_ns(width).max(1)], |row| {
                    Ok((row.get(1)?, row.get(2)?, row.get(3)?))
                })?
                .collect::<Result<Vec<(String, i64, i64)>, _>>()?;
            for (status, n, first) in rows {
                add(query.bucket_start(from_ns(first)), status, n)?;
            }
        }
    }
    Ok(buckets
        .into_iter()
        .map(|(start, counts)| BucketCount { start, counts })
        .collect())
}

/// Every applied change of a task, oldest first.
pub(crate) fn history(conn: &Connection, id: TaskId) -> Result<Vec<StateChange>, SqliteError> {
    let key = id.to_string();
    let mut stmt = conn.prepare_cached(
        "SELECT state, at, error, result, duration, worker, note FROM history \
         WHERE task_id = ?1 ORDER BY seq",
    )?;
    let rows = stmt
        .query_map([&key], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, i64>(1)?,
                row.get(2)?,
                row.get(3)?,
                row.get(4)?,
                row.get(5)?,
                row.get::<_, Option<String>>(6)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|(state, at, error, result, duration, worker, note)| {
            let note = note.map(|kind| kind.parse()).transpose().map_err(
                |e: cogman_core::UnknownNoteKind| SqliteError::Corrupt {
                    id: key.clone(),
                    reason: e.to_string(),
                },
            )?;
            Ok(StateChange {
                task_id: id,
                state: parse_state(&key, &state)?,
                at: from_ns(at),
                error,
                result,
                duration,
                worker,
                note,
            })
        })
        .collect()
}
