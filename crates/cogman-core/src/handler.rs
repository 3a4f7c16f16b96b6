//! The [`Handler`] trait that runs a task, [`handler_fn`] for closures (the seed's
//! `HandlerFunc`), the [`TaskContext`] a handler receives and the [`Output`] it returns.

use std::fmt;
use std::future::Future;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;

use crate::outcome::TaskError;
use crate::task::{Task, TaskId};
use crate::trace::TraceContext;

/// What a handler knows about the task it runs.
#[derive(Debug, Clone)]
pub struct TaskContext {
    /// This attempt's id.
    pub task_id: TaskId,
    /// The first attempt's id.
    pub original_task_id: TaskId,
    /// The task name.
    pub name: String,
    /// 0 for the first attempt.
    pub attempt: u32,
    /// Retries left after this attempt.
    pub retry_left: u32,
    /// The caller's trace key.
    pub primary_key: Option<String>,
    /// How many times the broker has delivered this attempt (more than 1 after a crash).
    pub delivery_count: u32,
    /// Cancelled when the task is cancelled, times out, or the worker stops hard.
    /// Long handlers should watch it (`ctx.cancelled().await`) and return early.
    pub cancellation: CancellationToken,
    /// The trace context of this run (its `run` span when the worker exports traces, else the
    /// context the task arrived with): pass [`TraceContext::traceparent`] on to make what the
    /// handler calls part of the task's trace. Shell handlers get it as `TRACEPARENT`.
    pub trace: Option<TraceContext>,
}

impl TaskContext {
    /// The context for running `task`.
    pub fn for_task(task: &Task, delivery_count: u32, cancellation: CancellationToken) -> Self {
        TaskContext {
            task_id: task.id,
            original_task_id: task.original_task_id,
            name: task.name.clone(),
            attempt: task.attempt,
            retry_left: task.retry,
            primary_key: task.primary_key.clone(),
            delivery_count,
            cancellation,
            trace: task.trace.clone(),
        }
    }

    /// Resolves when the task should stop.
    pub async fn cancelled(&self) {
        self.cancellation.cancelled().await;
    }

    /// True once the task should stop.
    pub fn is_cancelled(&self) -> bool {
        self.cancellation.is_cancelled()
    }
}

/// Bytes a handler returns; stored as the task's `result`. Build it from `()`, a `Vec<u8>`,
/// a `String` or a `&str`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output(pub Option<Vec<u8>>);

impl Output {
    /// No result.
    pub fn none() -> Self {
        Output(None)
    }

    /// The bytes, if any.
    pub fn into_bytes(self) -> Option<Vec<u8>> {
        self.0
    }
}

impl From<()> for Output {
    fn from((): ()) -> Self {
        Output(None)
    }
}

impl From<Vec<u8>> for Output {
    fn from(bytes: Vec<u8>) -> Self {
        Output(Some(bytes))
    }
}

impl From<String> for Output {
    fn from(text: String) -> Self {
        Output(Some(text.into_bytes()))
    }
}

impl From<&str> for Output {
    fn from(text: &str) -> Self {
        Output(Some(text.as_bytes().to_vec()))
    }
}

/// Runs tasks of one name. Implement it on a struct, or wrap a closure with [`handler_fn`].
///
/// The returned [`TaskError`] decides what happens next: retry with backoff (the default for
/// any error converted with `?`), retry after a given delay, fail without retry, or cancel.
#[async_trait]
pub trait Handler: Send + Sync + 'static {
    /// Runs one attempt of a task.
    async fn call(&self, ctx: TaskContext, payload: Vec<u8>) -> Result<Output, TaskError>;
}

/// A closure used as a [`Handler`]; built by [`handler_fn`].
pub struct HandlerFn<F>(F);

impl<F> fmt::Debug for HandlerFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HandlerFn")
    }
}

/// Turns an async closure into a [`Handler`] (the seed's `HandlerFunc`).
///
/// ```
/// use cogman_core::{handler_fn, TaskError};
/// let echo = handler_fn(|_ctx, payload: Vec<u8>| async move { Ok::<_, TaskError>(payload) });
/// # let _ = echo;
/// ```
pub fn handler_fn<F, Fut, O>(f: F) -> HandlerFn<F>
where
    F: Fn(TaskContext, Vec<u8>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, TaskError>> + Send + 'static,
    O: Into<Output>,
{
    HandlerFn(f)
}

#[async_trait]
impl<F, Fut, O> Handler for HandlerFn<F>
where
    F: Fn(TaskContext, Vec<u8>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, TaskError>> + Send + 'static,
    O: Into<Output>,
{
    async fn call(&self, ctx: TaskContext, payload: Vec<u8>) -> Result<Output, TaskError> {
        (self.0)(ctx, payload).await.map(Into::into)
    }
}
