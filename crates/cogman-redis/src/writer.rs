//! Group commit. `create` and `record` calls are encoded by their callers and queued to one
//! background writer, which forms batches with [`cogman_core::run_batches`] and applies each
//! with one call of the write script (`lua/write.lua`): one round trip and one script run for
//! the whole batch instead of one per write. Each caller gets its own outcome, and only once
//! Redis has applied the batch.
//!
//! Inside a batch the writes are grouped by task, each group in submission order, so the
//! script reads each record once and applies its writes in the order they were made. A batch
//! cut by a dropped connection is sent again whole: every write only
//! ever advances a state, so a write applied before the drop answers `Unchanged` (or `Stale`)
//! the second time, as a retried single write would.

use std::collections::HashMap;
use std::sync::Arc;

use cogman_core::{
    GroupCommit, RecordOutcome, StateChange, Task, TaskId, TaskLogError, TaskState, Weighed,
    run_batches,
};
use redis::Script;
use tokio::sync::{mpsc, oneshot};

use crate::conn::{Conn, into_log_error};
use crate::keys::Keys;
use crate::record::{self, Fields};

/// Where the answer to one write goes.
type Reply = oneshot::Sender<Result<RecordOutcome, TaskLogError>>;

/// Bytes counted for each argument besides its own (framing, bookkeeping).
const ARG_OVERHEAD: usize = 16;

/// One write, encoded as its arguments to the write script after the task id (see the layout
/// at the top of `lua/write.lua`: a create starts with `c`, a change with its state).
#[derive(Debug)]
struct Encoded {
    id: TaskId,
    args: Vec<Vec<u8>>,
}

impl Encoded {
    /// Insert-or-advance of `task`.
    fn create(task: &Task) -> Self {
        let mut args = vec![b"c".to_vec()];
        push_head(&mut args, task.status, &StateChange::from_task(task));
        args.push(record::score(task.created_at).to_string().into_bytes());
        args.push(task.name.clone().into_bytes());
        args.push(task.primary_key.clone().unwrap_or_default().into_bytes());
        args.push(task.original_task_id.to_string().into_bytes());
        let mut fields = record::fields(task);
        fields.retain(|(field, _)| !record::FILLED_BY_WRITE_SCRIPT.contains(field));
        args.push(fields.len().to_string().into_bytes());
        push_pairs(&mut args, fields);
        Encoded { id: task.id, args }
    }

    /// One state change.
    fn record(change: &StateChange) -> Self {
        let mut args = Vec::new();
        push_head(&mut args, change.state, change);
        push_pairs(
            &mut args,
            record::outcome_fields(
                change.error.as_deref(),
                change.result.as_deref(),
                change.duration,
            ),
        );
        Encoded {
            id: change.task_id,
            args,
        }
    }

    /// Bytes this write adds to a batch.
    fn weight(&self) -> usize {
        self.args.iter().map(|arg| arg.len() + ARG_OVERHEAD).sum()
    }
}

/// State, updated_at and history entry.
fn push_head(args: &mut Vec<Vec<u8>>, state: TaskState, change: &StateChange) {
    args.push(state.as_str().as_bytes().to_vec());
    args.push(record::timestamp(change.at).into_bytes());
    args.push(record::history_entry(change).into_bytes());
}

/// Each field and value.
fn push_pairs(args: &mut Vec<Vec<u8>>, fields: Fields) {
    for (field, value) in fields {
        args.push(field.as_bytes().to_vec());
        args.push(value);
    }
}

/// One queued write and where its answer goes.
#[derive(Debug)]
struct Op {
    write: Encoded,
    weight: usize,
    reply: Reply,
}

impl Weighed for Op {
    fn weight(&self) -> usize {
        self.weight
    }
}

/// What every batch is sent to, and the arguments it starts with.
struct Target {
    conn: Conn,
    script: Script,
    /// Task key prefix, index prefix, TTL in seconds.
    head: [Vec<u8>; 3],
}

impl Target {
    fn new(conn: Conn, script: Script, keys: &Keys, ttl_secs: u64) -> Self {
        Target {
            conn,
            script,
            head: [
                keys.task_prefix().into_bytes(),
                keys.index_prefix().into_bytes(),
                ttl_secs.to_string().into_bytes(),
            ],
        }
    }
}

/// The handle that queues writes to the background writer.
#[derive(Debug, Clone)]
pub(crate) struct Writer {
    queue: mpsc::Sender<Op>,
}

impl Writer {
    /// Starts the background writer on the current runtime. It stops once every handle is
    /// dropped; batches already sent still get their answers.
    pub(crate) fn spawn(
        conn: Conn,
        script: Script,
        keys: &Keys,
        ttl_secs: u64,
        config: GroupCommit,
    ) -> Writer {
        let target = Arc::new(Target::new(conn, script, keys, ttl_secs));
        let (queue, rx) = mpsc::channel(config.queue_capacity());
        tokio::spawn(run_batches(rx, config, move |ops| {
            let target = Arc::clone(&target);
            async move { commit(ops, &target).await }
        }));
        Writer { queue }
    }

    /// Queues the insert-or-advance of `task` and waits until Redis has applied it.
    pub(crate) async fn create(&self, task: &Task) -> Result<(), TaskLogError> {
        self.submit(Encoded::create(task)).await.map(drop)
    }

    /// Queues `change` and waits until Redis has applied it.
    pub(crate) async fn record(&self, change: &StateChange) -> Result<RecordOutcome, TaskLogError> {
        self.submit(Encoded::record(change)).await
    }

    async fn submit(&self, write: Encoded) -> Result<RecordOutcome, TaskLogError> {
        let (reply, answer) = oneshot::channel();
        let weight = write.weight();
        self.queue
            .send(Op {
                write,
                weight,
                reply,
            })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

fn stopped() -> TaskLogError {
    TaskLogError::Unavailable("the Redis writer has stopped".into())
}

/// Applies a batch with one script call and answers every caller.
async fn commit(ops: Vec<Op>, target: &Target) {
    let groups = by_task(&ops);
    let sent = ops.len();
    let replies: Result<Vec<String>, redis::RedisError> = target
        .conn
        .run_keeping_error("write", |mut con| {
            let mut invocation = target.script.prepare_invoke();
            for arg in &target.head {
                invocation.arg(arg.as_slice());
            }
            for (id, members) in &groups {
                invocation.arg(id);
                for arg in members.iter().flat_map(|&i| &ops[i].write.args) {
                    invocation.arg(arg.as_slice());
                }
            }
            async move { invocation.invoke_async(&mut con).await }
        })
        .await;
    let replies = match replies {
        Ok(replies) if replies.len() == sent => replies,
        Ok(replies) => {
            let answered = replies.len();
            return answer_all(ops, || {
                TaskLogError::Other(
                    format!("the write script answered {answered} writes of {sent}").into(),
                )
            });
        }
        Err(error) => return answer_all(ops, || into_log_error(error.clone())),
    };
    let mut ops: Vec<Option<Op>> = ops.into_iter().map(Some).collect();
    let order = groups.iter().flat_map(|(_, members)| members);
    for (&i, reply) in order.zip(replies) {
        if let Some(op) = ops[i].take() {
            let _ = op.reply.send(parse_reply(op.write.id, &reply));
        }
    }
}

/// The writes of `ops` grouped by task (in order of each task's first write), each group in
/// submission order: the order the write script takes them in.
fn by_task(ops: &[Op]) -> Vec<(String, Vec<usize>)> {
    let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
    let mut group_of: HashMap<TaskId, usize> = HashMap::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let group = *group_of.entry(op.write.id).or_insert_with(|| {
            groups.push((op.write.id.to_string(), Vec::with_capacity(1)));
            groups.len() - 1
        });
        groups[group].1.push(i);
    }
    groups
}

/// Answers every write of `ops` with the error `error` makes.
fn answer_all(ops: Vec<Op>, error: impl Fn() -> TaskLogError) {
    for op in ops {
        let _ = op.reply.send(Err(error()));
    }
}

/// What the write script answered for one write.
fn parse_reply(id: TaskId, reply: &str) -> Result<RecordOutcome, TaskLogError> {
    match reply {
        "applied" | "created" => Ok(RecordOutcome::Applied),
        "unchanged" => Ok(RecordOutcome::Unchanged),
        "missing" => Ok(RecordOutcome::Missing),
        _ => {
            if let Some(current) = reply.strip_prefix("stale:") {
                current
                    .parse::<TaskState>()
                    .map(|current| RecordOutcome::Stale { current })
                    .map_err(|e| record::corrupt(id, e.to_string()))
            } else if let Some(reason) = reply.strip_prefix("corrupt:") {
                Err(record::corrupt(id, reason.to_owned()))
            } else if let Some(message) = reply.strip_prefix("error:") {
                Err(TaskLogError::Other(
                    format!("the write of task {id} failed: {message}").into(),
                ))
            } else {
                Err(TaskLogError::Other(
                    format!("unexpected reply from the write script: {reply:?}").into(),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_replies_map_to_outcomes() {
        let id = TaskId::new();
        let reply = |word: &str| parse_reply(id, word);
        assert_eq!(reply("applied").ok(), Some(RecordOutcome::Applied));
        assert_eq!(reply("created").ok(), Some(RecordOutcome::Applied));
        assert_eq!(reply("unchanged").ok(), Some(RecordOutcome::Unchanged));
        assert_eq!(reply("missing").ok(), Some(RecordOutcome::Missing));
        assert_eq!(
            reply("stale:success").ok(),
            Some(RecordOutcome::Stale {
                current: TaskState::Success
            })
        );
        assert!(reply("stale:bogus").is_err());
        assert!(matches!(
            reply("corrupt:unknown state bogus"),
            Err(TaskLogError::Corrupt { .. })
        ));
        assert!(matches!(
            reply("error:WRONGTYPE"),
            Err(TaskLogError::Other(_))
        ));
        assert!(reply("").is_err());
    }

    #[test]
    fn encoded_writes_follow_the_script_layout() {
        let task = Task::from_spec(
            cogman_core::TaskSpec::new("n", b"payload".to_vec()),
            chrono::Utc::now(),
        );
        let create = Encoded::create(&task);
        // c, state, updated_at, entry, score, name, primary key, original, n, then n pairs.
        assert_eq!(create.args[0], b"c");
        let n: usize = std::str::from_utf8(&create.args[8])
            .expect("utf-8")
            .parse()
            .expect("pair count");
        assert_eq!(
            n,
            record::fields(&task).len() - record::FILLED_BY_WRITE_SCRIPT.len()
        );
        assert_eq!(create.args.len(), 9 + 2 * n);
        let change = StateChange::new(task.id, TaskState::Success).error("boom");
        let record = Encoded::record(&change);
        // state, updated_at, entry, then the outcome pairs.
        assert_eq!(record.args[0], b"success");
        assert_eq!(record.args.len(), 5);
        assert_eq!(record.args[3], b"fail_error");
        assert!(
            record::OUTCOME_FIELDS.contains(&std::str::from_utf8(&record.args[3]).expect("utf-8"))
        );
    }

    /// Commits `writes` as one batch to a fresh namespace; returns the outcomes and the log.
    async fn commit_one_batch(
        writes: Vec<Encoded>,
    ) -> (
        Vec<Result<RecordOutcome, TaskLogError>>,
        crate::RedisLog,
        cogman_testkit::servers::SharedCleanup,
    ) {
        const URI: &str = "redis://127.0.0.1:6379/0";
        let namespace = format!("cogman-test:writer:{}", uuid::Uuid::now_v7().simple());
        let cleanup =
            cogman_testkit::servers::SharedCleanup::new().redis_namespace(URI, &namespace);
        let config = crate::RedisConfig::new(URI)
            .namespace(namespace)
            .ttl(std::time::Duration::from_secs(600));
        let log = crate::RedisLog::connect(config.clone())
            .await
            .expect("the local Redis on 127.0.0.1:6379 must be running");
        let target = Target::new(
            Conn::open(&config).await.expect("connect"),
            crate::scripts::write(),
            &log.namespace().keys,
            log.ttl_secs(),
        );
        let mut ops = Vec::new();
        let mut answers = Vec::new();
        for write in writes {
            let (reply, answer) = oneshot::channel();
            ops.push(Op {
                write,
                weight: 0,
                reply,
            });
            answers.push(answer);
        }
        commit(ops, &target).await;
        let mut outcomes = Vec::new();
        for answer in answers {
            outcomes.push(answer.await.expect("answered"));
        }
        (outcomes, log, cleanup)
    }

    #[tokio::test]
    async fn one_batch_applies_the_writes_of_a_task_in_submission_order() {
        use cogman_core::TaskLog as _;
        let task = Task::from_spec(
            cogman_core::TaskSpec::new("writer.order", b"p".to_vec()),
            chrono::Utc::now(),
        );
        let other = Task::from_spec(
            cogman_core::TaskSpec::new("writer.order", b"p".to_vec()),
            chrono::Utc::now(),
        );
        let change = |id, state| Encoded::record(&StateChange::new(id, state));
        let (outcomes, log, _cleanup) = commit_one_batch(vec![
            change(task.id, TaskState::Queued),
            Encoded::create(&task),
            change(task.id, TaskState::Queued),
            Encoded::create(&other),
            change(task.id, TaskState::InProgress),
            change(task.id, TaskState::Queued),
            change(other.id, TaskState::Cancelled),
            change(task.id, TaskState::InProgress),
            Encoded::create(&task),
            change(task.id, TaskState::Success),
        ])
        .await;
        let outcomes: Vec<RecordOutcome> = outcomes
            .into_iter()
            .map(|outcome| outcome.expect("no write fails"))
            .collect();
        assert_eq!(
            outcomes,
            [
                RecordOutcome::Missing,
                RecordOutcome::Applied,
                RecordOutcome::Applied,
                RecordOutcome::Applied,
                RecordOutcome::Applied,
                RecordOutcome::Stale {
                    current: TaskState::InProgress
                },
                RecordOutcome::Applied,
                RecordOutcome::Unchanged,
                RecordOutcome::Stale {
                    current: TaskState::InProgress
                },
                RecordOutcome::Applied,
            ]
        );
        let stored = log.get(task.id).await.expect("get").expect("exists");
        assert_eq!(stored.status, TaskState::Success);
        assert_eq!(
            cogman_testkit::history_states(&log, task.id).await,
            [
                TaskState::Initiated,
                TaskState::Queued,
                TaskState::InProgress,
                TaskState::Success
            ]
        );
        for (state, want) in [
            (TaskState::Initiated, vec![]),
            (TaskState::Queued, vec![]),
            (TaskState::InProgress, vec![]),
            (TaskState::Success, vec![task.id]),
            (TaskState::Cancelled, vec![other.id]),
        ] {
            let filter = cogman_core::TaskFilter {
                statuses: vec![state],
                ..cogman_core::TaskFilter::default()
            };
            let page = log
                .list(&filter, cogman_core::PageRequest::first(10))
                .await
                .expect("list");
            let ids: Vec<TaskId> = page.items.iter().map(|t| t.id).collect();
            assert_eq!(ids, want, "the {state} index holds the tasks now in it");
        }
    }

    #[test]
    fn outcome_field_names_never_read_as_the_start_of_a_write() {
        // The write script tells an outcome pair from the next write by its first word.
        for field in record::OUTCOME_FIELDS {
            assert_ne!(field, "c");
            assert!(field.parse::<TaskState>().is_err(), "{field} is a state");
        }
    }

    #[test]
    fn writes_are_grouped_by_task_in_submission_order() {
        let (a, b) = (TaskId::new(), TaskId::new());
        let op = |id, state| Op {
            write: Encoded::record(&StateChange::new(id, state)),
            weight: 0,
            reply: oneshot::channel().0,
        };
        let ops = [
            op(a, TaskState::Queued),
            op(b, TaskState::Queued),
            op(a, TaskState::InProgress),
            op(a, TaskState::Success),
        ];
        assert_eq!(
            by_task(&ops),
            [(a.to_string(), vec![0, 2, 3]), (b.to_string(), vec![1])]
        );
    }
}
