//! `POST /tasks/bulk`: retry or cancel listed tasks, or every task a search line matches
//! (bounded per request, continued with a cursor), with a dry run that counts first. Acting
//! twice is harmless: a task already retried (a newer attempt exists) or already finished is
//! skipped, with the reason.

use std::collections::HashSet;

use axum::Json;
use axum::extract::State;
use cogman::{PageRequest, Task, TaskFilter, TaskId, TaskState};

use super::search::{find, selection};
use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::model::{BulkAction, BulkRequest, BulkResponse, BulkSkip};
use crate::openapi::{TaskErrors, WriteErrors};
use crate::state::ApiState;

/// Most tasks one request acts on.
const MAX_TASKS: u32 = 1000;

/// Retry or cancel many tasks.
///
/// Give `ids`, or `q` (a `GET /search` line) to act on what it matches, at most `limit` per
/// request (follow `next`). Retry creates a new attempt of each finished task whose newest
/// attempt it is (`failed`, `success` or `cancelled`); cancel stops each task that has not
/// finished. One action per task (chain of attempts); every other attempt is in `skipped`
/// with the reason. `dry_run` counts without changing anything. Admin only.
#[utoipa::path(
    post,
    path = "/tasks/bulk",
    tag = "tasks",
    request_body = BulkRequest,
    responses(
        (status = 200, description = "What was done (or, with dry_run, would be)", body = BulkResponse),
        WriteErrors,
        TaskErrors,
    )
)]
pub(crate) async fn bulk(
    State(state): State<ApiState>,
    JsonBody(request): JsonBody<BulkRequest>,
) -> Result<Json<BulkResponse>, ApiError> {
    let (tasks, next) = select(&state, &request).await?;
    let mut answer = BulkResponse {
        action: request.action,
        dry_run: request.dry_run,
        matched: tasks.len() as u64,
        acted: 0,
        skipped: Vec::new(),
        next,
    };
    let mut chains = HashSet::new();
    for task in tasks {
        let skip = |reason: String| BulkSkip {
            id: task.id.as_uuid(),
            reason,
        };
        if !chains.insert(task.original_task_id) {
            answer
                .skipped
                .push(skip("another attempt of the same task is acted on".into()));
            continue;
        }
        if let Err(reason) = eligible(&state, request.action, &task).await? {
            answer.skipped.push(skip(reason));
            continue;
        }
        if !request.dry_run {
            let done = match request.action {
                BulkAction::Retry => state
                    .client()
                    .retry(task.id, request.retry.unwrap_or(0))
                    .await
                    .map(drop),
                BulkAction::Cancel => state.client().cancel(task.id).await,
            };
            if let Err(error) = done {
                match ApiError::from(error) {
                    // The task moved on since it was read (another retry or cancel won).
                    ApiError::Conflict(reason) => {
                        answer.skipped.push(skip(reason));
                        continue;
                    }
                    other => return Err(other),
                }
            }
        }
        answer.acted += 1;
    }
    Ok(Json(answer))
}

/// The tasks the request names, and the cursor to go on with.
async fn select(
    state: &ApiState,
    request: &BulkRequest,
) -> Result<(Vec<Task>, Option<String>), ApiError> {
    if request.retry.is_some() && request.action != BulkAction::Retry {
        return Err(ApiError::InvalidField(
            "retry is for the retry action".into(),
        ));
    }
    match (&request.q, request.ids.is_empty()) {
        (Some(_), false) => Err(ApiError::InvalidField("give ids or q, not both".into())),
        (None, true) => Err(ApiError::InvalidField(
            "give ids (the tasks) or q (a search line; \"\" for every task)".into(),
        )),
        (None, false) => {
            if request.after.is_some() || request.limit.is_some() {
                return Err(ApiError::InvalidField("after and limit go with q".into()));
            }
            if request.ids.len() > MAX_TASKS as usize {
                return Err(ApiError::InvalidField(format!(
                    "at most {MAX_TASKS} ids per request, not {}",
                    request.ids.len()
                )));
            }
            let mut tasks = Vec::with_capacity(request.ids.len());
            for id in &request.ids {
                let id = TaskId::from_uuid(*id);
                tasks.push(
                    state
                        .client()
                        .get(id)
                        .await?
                        .ok_or(cogman::Error::NotFound(id))?,
                );
            }
            Ok((tasks, None))
        }
        (Some(q), true) => {
            let (query, after, limit) = selection(
                Some(q),
                request.after.as_deref(),
                request.limit.unwrap_or(MAX_TASKS),
            )
            .map_err(ApiError::InvalidField)?;
            let found = find(state, &query, after, limit).await?;
            Ok((found.tasks, found.next.map(|c| c.to_string())))
        }
    }
}

/// Whether `action` applies to `task`; the reason when it does not.
async fn eligible(
    state: &ApiState,
    action: BulkAction,
    task: &Task,
) -> Result<Result<(), String>, ApiError> {
    match action {
        BulkAction::Cancel if task.status.is_final() => {
            Ok(Err(format!("{} has finished", task.status.as_str())))
        }
        BulkAction::Cancel => Ok(Ok(())),
        BulkAction::Retry if !task.status.is_final() || task.status == TaskState::Retry => {
            Ok(Err(format!("{}: not finished", task.status.as_str())))
        }
        BulkAction::Retry => {
            let chain = TaskFilter {
                original_task_id: Some(task.original_task_id),
                ..TaskFilter::default()
            };
            let newest = state
                .client()
                .log()
                .list(&chain, PageRequest::first(1))
                .await?;
            match newest.items.first() {
                Some(newest) if newest.id != task.id => Ok(Err(format!(
                    "already retried: attempt {} is {}",
                    newest.attempt,
                    newest.status.as_str()
                ))),
                _ => Ok(Ok(())),
            }
        }
    }
}
