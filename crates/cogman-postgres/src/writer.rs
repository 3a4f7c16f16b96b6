//! Group commit. `create` and `record` calls are sent to one background writer, which forms
//! batches with [`cogman_core::run_batches`] and applies each with one call of the
//! `create_tasks` and/or `record_changes` SQL functions: one round trip and one commit for the
//! whole batch. Each caller gets its own outcome, and only after the commit, so an answer still
//! means durable.
//!
//! Writes inside a batch are ordered by task id (stably, so changes of one task keep their
//! order), which makes concurrent batches lock rows in the same order and never deadlock. A
//! batch that fails for a non-transient reason (bad data in one write) is re-applied one write
//! at a time, so only the faulty write fails.

use chrono::{DateTime, Utc};
use cogman_core::{
    GroupCommit, RecordOutcome, StateChange, Task, TaskLogError, TaskState, Weighed, run_batches,
};
use sqlx_core::row::Row as _;
use sqlx_postgres::{PgPool, PgRow};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::error::{error_chain, retry};

/// Where the answer to a create goes.
type CreateReply = oneshot::Sender<Result<(), TaskLogError>>;
/// Where the answer to a state change goes.
type RecordReply = oneshot::Sender<Result<RecordOutcome, TaskLogError>>;

/// One queued write and where its answer goes.
enum Op {
    Create {
        task: Box<Task>,
        reply: CreateReply,
    },
    Record {
        change: StateChange,
        reply: RecordReply,
    },
}

impl Weighed for Op {
    fn weight(&self) -> usize {
        match self {
            Op::Create { task, .. } => {
                task.payload.len() + task.result.as_ref().map_or(0, Vec::len) + 256
            }
            Op::Record { change, .. } => change.result.as_ref().map_or(0, Vec::len) + 128,
        }
    }
}

/// The handle that queues writes to the background writer.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Op>,
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Op::Create { task, .. } => write!(f, "Create({})", task.id),
            Op::Record { change, .. } => write!(f, "Record({}, {})", change.task_id, change.state),
        }
    }
}

impl Writer {
    /// Starts the background writer on the current runtime. It stops once every handle is
    /// dropped and the queued writes are applied.
    pub(crate) fn spawn(pool: PgPool, config: GroupCommit, retries: u32) -> Writer {
        let (queue, rx) = mpsc::channel(config.queue_capacity());
        tokio::spawn(run_batches(rx, config, move |ops| {
            let pool = pool.clone();
            async move { commit(ops, &pool, retries).await }
        }));
        Writer { queue }
    }

    /// Queues a create and waits for its commit.
    pub(crate) async fn create(&self, task: &Task) -> Result<(), TaskLogError> {
        let (reply, answer) = oneshot::channel();
        self.send(Op::Create {
            task: Box::new(task.clone()),
            reply,
        })
        .await?;
        answer.await.map_err(|_| stopped())?
    }

    /// Queues a state change and waits for its commit.
    pub(crate) async fn record(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        let (reply, answer) = oneshot::channel();
        self.send(Op::Record {
            change: change.clone(),
            reply,
        })
        .await?;
        answer.await.map_err(|_| stopped())?
    }

    async fn send(&self, op: Op) -> Result<(), TaskLogError> {
        self.queue.send(op).await.map_err(|_| stopped())
    }
}

fn stopped() -> TaskLogError {
    TaskLogError::Unavailable("the PostgreSQL writer has stopped".into())
}

/// Applies a batch and answers every caller.
async fn commit(ops: Vec<Op>, pool: &PgPool, retries: u32) {
    let mut creates: Vec<(Box<Task>, CreateReply)> = Vec::new();
    let mut records: Vec<(StateChange, RecordReply)> = Vec::new();
    for op in ops {
        match op {
            Op::Create { task, reply } => creates.push((task, reply)),
            Op::Record { change, reply } => records.push((change, reply)),
        }
    }
    creates.sort_by_key(|(task, _)| task.id);
    records.sort_by_key(|(change, _)| change.task_id);
    let size = creates.len() + records.len();
    let tasks: Vec<&Task> = creates.iter().map(|(t, _)| &**t).collect();
    let changes: Vec<&StateChange> = records.iter().map(|(c, _)| c).collect();
    match apply(pool, retries, &tasks, &changes).await {
        Ok(outcomes) => {
            for (_, reply) in creates {
                let _ = reply.send(Ok(()));
            }
            for ((_, reply), outcome) in records.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(error) if size > 1 && !error.is_transient() => {
            tracing::warn!(%error, size, "a batched write failed; applying the batch one write at a time");
            for (task, reply) in creates {
                let result = apply(pool, retries, &[&*task], &[]).await.map(drop);
                let _ = reply.send(result);
            }
            for (change, reply) in records {
                let result = apply(pool, retries, &[], &[&change])
                    .await
                    .and_then(|mut outcomes| outcomes.pop().ok_or_else(missing_row));
                let _ = reply.send(result);
            }
        }
        Err(error) => {
            let message = error_chain(&error);
            let transient = error.is_transient();
            let copy = || {
                if transient {
                    TaskLogError::Unavailable(message.clone().into())
                } else {
                    TaskLogError::Other(message.clone().into())
                }
            };
            for (_, reply) in creates {
                let _ = reply.send(Err(copy()));
            }
            for (_, reply) in records {
                let _ = reply.send(Err(copy()));
            }
        }
    }
}

fn missing_row() -> TaskLogError {
    TaskLogError::Other("record_changes returned fewer rows than changes".into())
}

/// Applies `tasks` (insert-or-advance) and then `changes` in one transaction; returns the
/// outcome of each change in order.
async fn apply(
    pool: &PgPool,
    retries: u32,
    tasks: &[&Task],
    changes: &[&StateChange],
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
        .map(|(row, change)| outcome(row, change))
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
struct CreateArrays {
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
}

impl CreateArrays {
    fn new(tasks: &[&Task]) -> Self {
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
        }
    }

    fn query(
        &self,
    ) -> sqlx_core::query::Query<'_, sqlx_postgres::Postgres, sqlx_postgres::PgArguments> {
        sqlx_core::query::query(
            "SELECT ord, outcome FROM create_tasks($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16, $17)",
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
    }
}

/// The columns of `record_changes`, one array each.
struct RecordArrays {
    task: Vec<Uuid>,
    status: Vec<&'static str>,
    rank: Vec<i16>,
    at: Vec<DateTime<Utc>>,
    error: Vec<Option<String>>,
    result: Vec<Option<Vec<u8>>>,
    duration: Vec<Option<f64>>,
    worker: Vec<Option<String>>,
}

impl RecordArrays {
    fn new(changes: &[&StateChange]) -> Self {
        RecordArrays {
            task: changes.iter().map(|c| c.task_id.as_uuid()).collect(),
            status: changes.iter().map(|c| c.state.as_str()).collect(),
            rank: changes.iter().map(|c| i16::from(c.state.rank())).collect(),
            at: changes.iter().map(|c| c.at).collect(),
            error: changes
                .iter()
                .map(|c| c.error.as_deref().map(pg_text))
                .collect(),
            result: changes.iter().map(|c| c.result.clone()).collect(),
            duration: changes.iter().map(|c| c.duration).collect(),
            worker: changes
                .iter()
                .map(|c| c.worker.as_deref().map(pg_text))
                .collect(),
        }
    }

    fn query(
        &self,
    ) -> sqlx_core::query::Query<'_, sqlx_postgres::Postgres, sqlx_postgres::PgArguments> {
        sqlx_core::query::query(
            "SELECT ord, outcome, current_status \
             FROM record_changes($1, $2, $3, $4, $5, $6, $7, $8) ORDER BY ord",
        )
        .bind(&self.task)
        .bind(&self.status)
        .bind(&self.rank)
        .bind(&self.at)
        .bind(&self.error)
        .bind(&self.result)
        .bind(&self.duration)
        .bind(&self.worker)
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
