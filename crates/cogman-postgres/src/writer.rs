//! Group commit. `create` and `record` calls go through the holding stage ([`crate::hold`])
//! to one background writer, which forms batches with [`cogman_core::run_batches`] and applies
//! each with one call of the `create_tasks` and/or `record_changes` SQL functions: one round
//! trip and one commit for the whole batch. Each caller gets its own outcome, and only after
//! the commit, so an answer still means durable. A state change carries the changes of its task
//! that were held back (`record_behind`) as priors, merged into the same row write.
//!
//! Writes inside a batch are ordered by task id (stably, so changes of one task keep their
//! order), which makes concurrent batches lock rows in the same order and never deadlock. A
//! batch that fails for a non-transient reason (bad data in one write) is re-applied one write
//! at a time, so only the faulty write fails. When a batch fails, the held-back changes it
//! carried are held again (once more), so a caller's retry takes them along.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use cogman_core::{
    GroupCommit, RecordOutcome, StateChange, Task, TaskLogError, TaskState, apply_change,
    run_batches,
};
use sqlx_core::row::Row as _;
use sqlx_postgres::{PgPool, PgRow};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::error::{copies, error_chain, retry};
use crate::hold::{self, Request, SharedStage};
use crate::op::{CreateReply, Op, RecordReply};

/// The handle that queues writes to the background writer.
#[derive(Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Request>,
    stage: SharedStage,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Write(op) => op.fmt(f),
            Request::Behind(change) => write!(f, "Behind({}, {})", change.task_id, change.state),
            Request::Flush(_) => f.write_str("Flush"),
        }
    }
}

impl Writer {
    /// Starts the holding stage and the background writer on the current runtime. They stop
    /// once every handle is dropped and the queued and held writes are applied.
    pub(crate) fn spawn(
        pool: PgPool,
        config: GroupCommit,
        retries: u32,
        merge_window: Duration,
    ) -> Writer {
        let (queue, requests) = mpsc::channel(config.queue_capacity());
        let (writes, batches) = mpsc::channel(config.queue_capacity());
        let requeue = queue.downgrade();
        let stage = SharedStage::default();
        tokio::spawn(hold::run(
            requests,
            writes,
            merge_window,
            Arc::clone(&stage),
        ));
        tokio::spawn(run_batches(batches, config, move |ops| {
            let pool = pool.clone();
            let requeue = requeue.clone();
            async move { commit(ops, &pool, retries, &requeue).await }
        }));
        Writer { queue, stage }
    }

    /// Applies the changes held for `task` (see [`crate::hold`]) to it, as read from the table.
    pub(crate) fn overlay(&self, task: &mut Task) {
        for change in hold::lock(&self.stage).held(task.id) {
            apply_change(task, change);
        }
    }

    /// Queues a create and waits for its commit.
    pub(crate) async fn create(&self, task: &Task) -> Result<(), TaskLogError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Write(Op::Create {
            task: Box::new(task.clone()),
            reply,
        }))
        .await?;
        answer.await.map_err(|_| stopped())?
    }

    /// Queues a state change and waits for its commit.
    pub(crate) async fn record(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Write(Op::Record {
            change: change.clone(),
            prior: Vec::new(),
            reply: Some(reply),
        }))
        .await?;
        answer.await.map_err(|_| stopped())?
    }

    /// Queues a state change that may be held back; does not wait for it.
    pub(crate) async fn record_behind(&self, change: &StateChange) -> Result<(), TaskLogError> {
        self.send(Request::Behind(change.clone())).await
    }

    /// Writes every held-back change and waits for their commit.
    pub(crate) async fn flush(&self) -> Result<(), TaskLogError> {
        let (reply, answer) = oneshot::channel();
        self.send(Request::Flush(reply)).await?;
        answer.await.map_err(|_| stopped())?
    }

    async fn send(&self, request: Request) -> Result<(), TaskLogError> {
        self.queue.send(request).await.map_err(|_| stopped())
    }
}

fn stopped() -> TaskLogError {
    TaskLogError::Unavailable("the PostgreSQL writer has stopped".into())
}

/// A state change waiting in a batch: the change, its priors, and who waits for it.
type Pending = (StateChange, Vec<StateChange>, Option<RecordReply>);

/// Holds the priors of failed changes again (best effort), so a retry takes them along;
/// changes nobody waits for are given up with a warning.
fn hold_again(requeue: &mpsc::WeakSender<Request>, records: &mut [Pending], error: &str) {
    let queue = requeue.upgrade();
    for (change, prior, reply) in records.iter_mut() {
        let prior = std::mem::take(prior);
        if reply.is_none() {
            tracing::warn!(task_id = %change.task_id, state = %change.state, error, "a held-back state change could not be written; it is given up");
            continue;
        }
        for earlier in prior {
            let kept = queue
                .as_ref()
                .is_some_and(|q| q.try_send(Request::Behind(earlier.clone())).is_ok());
            if !kept {
                tracing::warn!(task_id = %earlier.task_id, state = %earlier.state, error, "a held-back state change could not be written; it is given up");
            }
        }
    }
}

/// Applies a batch and answers every caller.
async fn commit(ops: Vec<Op>, pool: &PgPool, retries: u32, requeue: &mpsc::WeakSender<Request>) {
    let mut creates: Vec<(Box<Task>, CreateReply)> = Vec::new();
    let mut records: Vec<Pending> = Vec::new();
    for op in ops {
        match op {
            Op::Create { task, reply } => creates.push((task, reply)),
            Op::Record {
                change,
                prior,
                reply,
            } => records.push((change, prior, reply)),
        }
    }
    creates.sort_by_key(|(task, _)| task.id);
    records.sort_by_key(|(change, _, _)| change.task_id);
    let size = creates.len() + records.len();
    let tasks: Vec<&Task> = creates.iter().map(|(t, _)| &**t).collect();
    let changes: Vec<(&StateChange, &[StateChange])> =
        records.iter().map(|(c, p, _)| (c, p.as_slice())).collect();
    match apply(pool, retries, &tasks, &changes).await {
        Ok(outcomes) => {
            for (_, reply) in creates {
                let _ = reply.send(Ok(()));
            }
            for ((_, _, reply), outcome) in records.into_iter().zip(outcomes) {
                if let Some(reply) = reply {
                    let _ = reply.send(Ok(outcome));
                }
            }
        }
        Err(error) if size > 1 && !error.is_transient() => {
            tracing::warn!(%error, size, "a batched write failed; applying the batch one write at a time");
            for (task, reply) in creates {
                let result = match apply(pool, retries, &[&*task], &[]).await {
                    Ok(_) => Ok(()),
                    Err(error) => Err(create_failed(pool, &task, error).await),
                };
                let _ = reply.send(result);
            }
            for mut pending in records {
                let result = apply(pool, retries, &[], &[(&pending.0, pending.1.as_slice())])
                    .await
                    .and_then(|mut outcomes| outcomes.pop().ok_or_else(missing_row));
                if let Err(error) = &result {
                    hold_again(
                        requeue,
                        std::slice::from_mut(&mut pending),
                        &error.to_string(),
                    );
                }
                if let Some(reply) = pending.2 {
                    let _ = reply.send(result);
                }
            }
        }
        Err(error) => {
            let copy = copies(&error);
            for (task, reply) in creates {
                let failed = if error.is_transient() {
                    copy()
                } else {
                    create_failed(pool, &task, copy()).await
                };
                let _ = reply.send(Err(failed));
            }
            hold_again(requeue, &mut records, &error_chain(&error));
            for (_, _, reply) in records {
                if let Some(reply) = reply {
                    let _ = reply.send(Err(copy()));
                }
            }
        }
    }
}

/// The answer to a create of `task` that failed with `error`: [`TaskLogError::AttemptTaken`]
/// when another record of its chain has its attempt number (the unique index `tasks_attempt`
/// refused the insert; a first attempt is its own chain and is never refused so), otherwise
/// `error`.
async fn create_failed(pool: &PgPool, task: &Task, error: TaskLogError) -> TaskLogError {
    if task.original_task_id == task.id {
        return error;
    }
    let taken: Result<Option<Uuid>, _> = sqlx_core::query_scalar::query_scalar(
        "SELECT id FROM tasks WHERE original_task_id = $1 AND attempt = $2 AND id <> $3",
    )
    .bind(task.original_task_id.as_uuid())
    .bind(i64::from(task.attempt))
    .bind(task.id.as_uuid())
    .fetch_optional(pool)
    .await;
    match taken {
        Ok(Some(id)) => TaskLogError::AttemptTaken {
            original: task.original_task_id,
            attempt: task.attempt,
            taken_by: cogman_core::TaskId::from_uuid(id),
        },
        _ => error,
    }
}

fn missing_row() -> TaskLogError {
    TaskLogError::Other("record_changes returned fewer rows than changes".into())
}

/// Applies `tasks` (insert-or-advance) and then `changes` (each after its priors) in one
/// transaction; returns the outcome of each change in order.
async fn apply(
    pool: &PgPool,
    retries: u32,
    tasks: &[&Task],
    changes: &[(&StateChange, &[StateChange])],
) -> Result<Vec<RecordOutcome>, TaskLogError> {
    let creates = CreateArrays::new(tasks);
    let records = RecordArrays::new(changes);
    let rows = retry("group commit", retries, || async {
        match (tasks.is_empty(), changes.is_empty()) {
            (false, false) => {
                let mut tx = pool.begin().await?;
                creates.query().fetch_all(&mut *tx).await?;
                let rows = records.query().fetch_all(&mut *tx).await?;
                tx.commit().await?;
                Ok(rows)
            }
            (false, true) => creates.query().fetch_all(pool).await.map(|_| Vec::new()),
            (true, false) => records.query().fetch_all(pool).await,
            (true, true) => Ok(Vec::new()),
        }
    })
    .await?;
    if rows.len() != changes.len() {
        return Err(missing_row());
    }
    rows.iter()
        .zip(changes)
        .map(|(row, (change, _))| outcome(row, change))
        .collect()
}

/// One row of `record_changes`.
fn outcome(row: &PgRow, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
    let word: String = row
        .try_get("outcome")
        .map_err(|e| TaskLogError::Other(Box::new(e)))?;
    let current: Option<String> = row
        .try_get("current_status")
        .map_err(|e| TaskLogError::Other(Box::new(e)))?;
    match word.as_str() {
        "applied" => Ok(RecordOutcome::Applied),
        "unchanged" => Ok(RecordOutcome::Unchanged),
        "missing" => Ok(RecordOutcome::Missing),
        "stale" => current
            .as_deref()
            .unwrap_or_default()
            .parse::<TaskState>()
            .map(|current| RecordOutcome::Stale { current })
            .map_err(|e| TaskLogError::Corrupt {
                id: change.task_id.to_string(),
                reason: e.to_string(),
            }),
        other => Err(TaskLogError::Other(
            format!("record_changes answered {other:?}").into(),
        )),
    }
}

/// PostgreSQL text cannot hold NUL; free-form messages keep everything else.
pub(crate) fn pg_text(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// The columns of `create_tasks`, one array each.
pub(crate) struct CreateArrays {
    id: Vec<Uuid>,
    name: Vec<String>,
    payload: Vec<Vec<u8>>,
    priority: Vec<&'static str>,
    retry: Vec<i64>,
    attempt: Vec<i64>,
    original: Vec<Uuid>,
    primary_key: Vec<Option<String>>,
    status: Vec<&'static str>,
    fail_error: Vec<Option<String>>,
    result: Vec<Option<Vec<u8>>>,
    duration: Vec<Option<f64>>,
    created_at: Vec<DateTime<Utc>>,
    updated_at: Vec<DateTime<Utc>>,
    run_at: Vec<Option<DateTime<Utc>>>,
    timeout_ms: Vec<Option<i64>>,
    workflow: Vec<Option<String>>,
    queue: Vec<String>,
}

impl CreateArrays {
    pub(crate) fn new(tasks: &[&Task]) -> Self {
        CreateArrays {
            id: tasks.iter().map(|t| t.id.as_uuid()).collect(),
            name: tasks.iter().map(|t| t.name.clone()).collect(),
            payload: tasks.iter().map(|t| t.payload.clone()).collect(),
            priority: tasks.iter().map(|t| t.priority.as_str()).collect(),
            retry: tasks.iter().map(|t| i64::from(t.retry)).collect(),
            attempt: tasks.iter().map(|t| i64::from(t.attempt)).collect(),
            original: tasks.iter().map(|t| t.original_task_id.as_uuid()).collect(),
            primary_key: tasks.iter().map(|t| t.primary_key.clone()).collect(),
            status: tasks.iter().map(|t| t.status.as_str()).collect(),
            fail_error: tasks
                .iter()
                .map(|t| t.fail_error.as_deref().map(pg_text))
                .collect(),
            result: tasks.iter().map(|t| t.result.clone()).collect(),
            duration: tasks.iter().map(|t| t.duration).collect(),
            created_at: tasks.iter().map(|t| t.created_at).collect(),
            updated_at: tasks.iter().map(|t| t.updated_at).collect(),
            run_at: tasks.iter().map(|t| t.run_at).collect(),
            timeout_ms: tasks
                .iter()
                .map(|t| t.timeout_ms.map(|ms| i64::try_from(ms).unwrap_or(i64::MAX)))
                .collect(),
            workflow: tasks
                .iter()
                .map(|t| {
                    t.workflow.as_ref().map(|w| {
                        serde_json::to_string(w).expect("invariant: a workflow link serializes")
                    })
                })
                .collect(),
            queue: tasks.iter().map(|t| t.queue.clone()).collect(),
        }
    }

    pub(crate) fn query(
        &self,
    ) -> sqlx_core::query::Query<'_, sqlx_postgres::Postgres, sqlx_postgres::PgArguments> {
        sqlx_core::query::query(
            "SELECT ord, outcome FROM create_tasks($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17, $18)",
        )
        .bind(&self.id)
        .bind(&self.name)
        .bind(&self.payload)
        .bind(&self.priority)
        .bind(&self.retry)
        .bind(&self.attempt)
        .bind(&self.original)
        .bind(&self.primary_key)
        .bind(&self.status)
        .bind(&self.fail_error)
        .bind(&self.result)
        .bind(&self.duration)
        .bind(&self.created_at)
        .bind(&self.updated_at)
        .bind(&self.run_at)
        .bind(&self.timeout_ms)
        .bind(&self.workflow)
        .bind(&self.queue)
    }
}

/// The columns of one list of changes, one array each.
#[derive(Default)]
struct ChangeArrays {
    task: Vec<Uuid>,
    status: Vec<&'static str>,
    rank: Vec<i16>,
    at: Vec<DateTime<Utc>>,
    error: Vec<Option<String>>,
    result: Vec<Option<Vec<u8>>>,
    duration: Vec<Option<f64>>,
    worker: Vec<Option<String>>,
}

impl ChangeArrays {
    fn push(&mut self, change: &StateChange) {
        self.task.push(change.task_id.as_uuid());
        self.status.push(change.state.as_str());
        self.rank.push(i16::from(change.state.rank()));
        self.at.push(change.at);
        self.error.push(change.error.as_deref().map(pg_text));
        self.result.push(change.result.clone());
        self.duration.push(change.duration);
        self.worker.push(change.worker.as_deref().map(pg_text));
    }
}

/// The arguments of `record_changes`: the changes, and their priors with the position
/// (1-based) of the change each precedes.
struct RecordArrays {
    changes: ChangeArrays,
    prior_of: Vec<i32>,
    priors: ChangeArrays,
}

impl RecordArrays {
    fn new(changes: &[(&StateChange, &[StateChange])]) -> Self {
        let mut arrays = RecordArrays {
            changes: ChangeArrays::default(),
            prior_of: Vec::new(),
            priors: ChangeArrays::default(),
        };
        for (position, (change, prior)) in (1_i32..).zip(changes) {
            arrays.changes.push(change);
            for earlier in *prior {
                arrays.prior_of.push(position);
                arrays.priors.push(earlier);
            }
        }
        arrays
    }

    fn query(
        &self,
    ) -> sqlx_core::query::Query<'_, sqlx_postgres::Postgres, sqlx_postgres::PgArguments> {
        let (c, p) = (&self.changes, &self.priors);
        sqlx_core::query::query(
            "SELECT ord, outcome, current_status \
             FROM record_changes($1, $2, $3, $4, $5, $6, $7, $8, \
                                 $9, $10, $11, $12, $13, $14, $15, $16) ORDER BY ord",
        )
        .bind(&c.task)
        .bind(&c.status)
        .bind(&c.rank)
        .bind(&c.at)
        .bind(&c.error)
        .bind(&c.result)
        .bind(&c.duration)
        .bind(&c.worker)
        .bind(&self.prior_of)
        .bind(&p.status)
        .bind(&p.rank)
        .bind(&p.at)
        .bind(&p.error)
        .bind(&p.result)
        .bind(&p.duration)
        .bind(&p.worker)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_bytes_are_replaced() {
        assert_eq!(pg_text("a\0b"), "a\u{FFFD}b");
        assert_eq!(pg_text("plain ✓"), "plain ✓");
    }
}
