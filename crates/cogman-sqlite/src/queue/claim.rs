//! Claiming due tasks, run inside the writer's transaction: one `UPDATE … RETURNING` per
//! priority (High first) takes up to `limit` due rows of the consumer's named queues ordered by due time and enqueue order,
//! gives them a fresh lease token, and counts the delivery. Rows that cannot be delivered are
//! dead-lettered in the same transaction: malformed rows, and poison (delivered
//! `max_deliveries` times without being settled), whose log record is also set `failed`.
//! Also: releasing leases a consumer took but never handed out.

use cogman_core::{HandlerWait, StateChange, Task, TaskId, TaskState};
use rusqlite::{Connection, params};

use super::codec;
use super::dead_letter;
use crate::error::SqliteError;
use crate::log::write;
use crate::time::{from_ns, now_ns};

/// What a consumer asks for.
#[derive(Debug, Clone)]
pub(crate) struct ClaimRequest {
    /// The consumer tag, stored as the lease owner.
    pub(crate) owner: String,
    /// Lease length in nanoseconds.
    pub(crate) lease_ns: i64,
    /// Most rows to claim.
    pub(crate) limit: usize,
    /// Deliveries without settlement after which a row is poison.
    pub(crate) max_deliveries: u32,
    /// The named queues served, as a JSON array of strings (read with `json_each`).
    pub(crate) queues: String,
}

/// One claimed task.
#[derive(Debug)]
pub(crate) struct Claimed {
    pub(crate) seq: i64,
    pub(crate) token: i64,
    pub(crate) deliveries: u32,
    pub(crate) task: Task,
    /// Set when a worker without its handler deferred it before.
    pub(crate) handler_wait: Option<HandlerWait>,
}

/// The result of one claim.
#[derive(Debug, Default)]
pub(crate) struct ClaimBatch {
    /// Tasks to deliver, High first, then by due time and enqueue order.
    pub(crate) claimed: Vec<Claimed>,
    /// Rows dead-lettered instead of delivered.
    pub(crate) dead_lettered: usize,
    /// When nothing was claimable: when the next row becomes claimable (ns), if any.
    pub(crate) next_visible: Option<i64>,
}

/// A row as the claim returns it.
struct ClaimedRow {
    seq: i64,
    task_id: String,
    priority: i64,
    run_at: i64,
    deliveries: i64,
    unsettled: i64,
    json: String,
    payload: Vec<u8>,
    handler_waits: i64,
    waiting_since: Option<i64>,
}

const CLAIM_SQL: &str = "UPDATE queue SET visible_at = ?1, lease_token = ?2, lease_owner = ?3, \
    deliveries = deliveries + 1, unsettled = unsettled + 1 \
    WHERE seq IN (SELECT seq FROM queue WHERE priority = ?4 AND visible_at <= ?5 \
                  AND queue IN (SELECT value FROM json_each(?7)) \
                  ORDER BY visible_at, seq LIMIT ?6) \
    RETURNING seq, task_id, priority, run_at, deliveries, unsettled, task, payload, \
    handler_waits, waiting_since";

/// Claims up to `request.limit` due rows.
pub(crate) fn claim(conn: &Connection, request: &ClaimRequest) -> Result<ClaimBatch, SqliteError> {
    let now = now_ns();
    let token: i64 = rand::random();
    let until = now.saturating_add(request.lease_ns);
    let mut rows = Vec::new();
    for priority in [0_i64, 1] {
        let remaining = request.limit.saturating_sub(rows.len());
        if remaining == 0 {
            break;
        }
        let mut stmt = conn.prepare_cached(CLAIM_SQL)?;
        let claimed = stmt.query_map(
            params![
                until,
                token,
                request.owner,
                priority,
                now,
                i64::try_from(remaining).unwrap_or(i64::MAX),
                request.queues,
            ],
            |row| {
                Ok(ClaimedRow {
                    seq: row.get(0)?,
                    task_id: row.get(1)?,
                    priority: row.get(2)?,
                    run_at: row.get(3)?,
                    deliveries: row.get(4)?,
                    unsettled: row.get(5)?,
                    json: row.get(6)?,
                    payload: row.get(7)?,
                    handler_waits: row.get(8)?,
                    waiting_since: row.get(9)?,
                })
            },
        )?;
        for row in claimed {
            rows.push(row?);
        }
    }
    // RETURNING gives rows in no particular order.
    rows.sort_by_key(|r| (r.priority, r.run_at, r.seq));

    let mut batch = ClaimBatch::default();
    for row in rows {
        match deliverable(conn, row, request.max_deliveries, token)? {
            Some(claimed) => batch.claimed.push(claimed),
            None => batch.dead_lettered += 1,
        }
    }
    if batch.claimed.is_empty() && batch.dead_lettered == 0 {
        batch.next_visible = next_visible(conn, &request.queues)?;
    }
    Ok(batch)
}

/// The claimed task, or `None` after dead-lettering a poison or malformed row.
fn deliverable(
    conn: &Connection,
    row: ClaimedRow,
    max_deliveries: u32,
    token: i64,
) -> Result<Option<Claimed>, SqliteError> {
    if row.unsettled > i64::from(max_deliveries) {
        let reason = format!(
            "dead-lettered after {max_deliveries} deliveries without an outcome (worker crashed?)"
        );
        dead_letter_and_fail(conn, &row, &reason)?;
        return Ok(None);
    }
    match codec::decode(&row.task_id, &row.json, row.payload.clone()) {
        Ok(task) => Ok(Some(Claimed {
            seq: row.seq,
            token,
            deliveries: u32::try_from(row.deliveries).unwrap_or(u32::MAX),
            task,
            handler_wait: row.waiting_since.map(|since| HandlerWait {
                waits: u32::try_from(row.handler_waits).unwrap_or(u32::MAX),
                since: from_ns(since),
            }),
        })),
        Err(reason) => {
            tracing::warn!(task_id = %row.task_id, %reason, "dead-lettering a malformed queue row");
            dead_letter_and_fail(conn, &row, &reason)?;
            Ok(None)
        }
    }
}

/// Moves the row to the dead letters and records the task `failed` with `reason` (when its
/// id is readable and it has a log record).
fn dead_letter_and_fail(
    conn: &Connection,
    row: &ClaimedRow,
    reason: &str,
) -> Result<(), SqliteError> {
    dead_letter::move_row(conn, row.seq, None, reason)?;
    if let Ok(id) = row.task_id.parse::<TaskId>() {
        write::record(conn, &StateChange::new(id, TaskState::Failed).error(reason))?;
    }
    Ok(())
}

/// When the next row of the served `queues` (a JSON array) becomes claimable (its run time or
/// the end of its lease).
fn next_visible(conn: &Connection, queues: &str) -> Result<Option<i64>, SqliteError> {
    let mut stmt = conn.prepare_cached(
        "SELECT MIN(visible_at) FROM queue WHERE priority = ?1 \
         AND queue IN (SELECT value FROM json_each(?2))",
    )?;
    let mut earliest: Option<i64> = None;
    for priority in [0_i64, 1] {
        let at: Option<i64> = stmt.query_row(params![priority, queues], |row| row.get(0))?;
        earliest = match (earliest, at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    Ok(earliest)
}

/// Gives back leases taken but never handed out: the rows are claimable again at once, in
/// their old place, and the claim is not counted as a delivery.
pub(crate) fn release(conn: &Connection, leases: &[(i64, i64)]) -> Result<(), SqliteError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE queue SET visible_at = run_at, lease_token = NULL, lease_owner = NULL, \
         deliveries = deliveries - 1, unsettled = unsettled - 1 \
         WHERE seq = ?1 AND lease_token = ?2",
    )?;
    for (seq, token) in leases {
        stmt.execute(params![seq, token])?;
    }
    Ok(())
}
