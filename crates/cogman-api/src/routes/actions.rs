//! `POST /tasks/{id}/retry` (a new attempt of a finished task, the seed's `/retry`) and
//! `POST /tasks/{id}/cancel`.

use axum::Json;
use axum::extract::State;
use axum::response::Response;

use super::tasks::accepted;
use crate::error::ApiError;
use crate::extract::{OptionalJsonBody, TaskIdPath};
use crate::model::{RetryRequest, SendResponse, TaskView};
use crate::openapi::{StateErrors, TaskErrors, WriteErrors};
use crate::state::ApiState;

/// Run a finished task again.
///
/// Creates a new attempt (new id, same `original_task_id`) with its own retry budget. The body
/// is optional; without one the new attempt has no retries of its own.
#[utoipa::path(
    post,
    path = "/tasks/{id}/retry",
    tag = "tasks",
    params(("id" = uuid::Uuid, Path, description = "A finished task")),
    request_body(content = Option<RetryRequest>, content_type = "application/json"),
    responses(
        (status = 201, description = "The new attempt, in the broker", body = SendResponse),
        (status = 202, description = "The new attempt, waiting for the broker", body = SendResponse),
        TaskErrors,
        StateErrors,
        WriteErrors,
    )
)]
pub(crate) async fn retry_task(
    State(state): State<ApiState>,
    TaskIdPath(id): TaskIdPath,
    OptionalJsonBody(request): OptionalJsonBody<RetryRequest>,
) -> Result<Response, ApiError> {
    let receipt = state.client().retry(id, request.retry.unwrap_or(0)).await?;
    Ok(accepted(receipt))
}

/// Cancel a task that has not finished.
///
/// A queued or scheduled task will not run; a running one is interrupted by its worker.
/// Cancelling a cancelled task again is allowed and changes nothing.
#[utoipa::path(
    post,
    path = "/tasks/{id}/cancel",
    tag = "tasks",
    params(("id" = uuid::Uuid, Path, description = "A task that has not finished")),
    responses(
        (status = 200, description = "The task after cancellation", body = TaskView),
        TaskErrors,
        StateErrors,
        WriteErrors,
    )
)]
pub(crate) async fn cancel_task(
    State(state): State<ApiState>,
    TaskIdPath(id): TaskIdPath,
) -> Result<Json<TaskView>, ApiError> {
    state.client().cancel(id).await?;
    let task = state
        .client()
        .get(id)
        .await?
        .ok_or(cogman::Error::NotFound(id))?;
    Ok(Json(TaskView::from(&task)))
}
