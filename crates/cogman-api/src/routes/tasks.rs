//! `POST /tasks` (send), `GET /tasks/{id}` (a task with its attempts and history) and
//! `GET /tasks` (filtered, cursor-paged list).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use cogman::{SendReceipt, SendStatus};

use crate::error::ApiError;
use crate::extract::{JsonBody, QueryPairs, TaskIdPath};
use crate::model::{ListParams, SendResponse, SendTaskRequest, TaskDetails, TaskPage};
use crate::openapi::{QueryErrors, ReadErrors, TaskErrors, WriteErrors};
use crate::state::ApiState;

/// 201 with a `Location` when the task is in the broker; 202 when it waits for the broker;
/// 200 when a task already holds its unique key (the `Location` is that task's).
pub(crate) fn accepted(receipt: SendReceipt) -> Response {
    let status = match receipt.status {
        SendStatus::Queued | SendStatus::Scheduled => StatusCode::CREATED,
        SendStatus::Initiated | SendStatus::Buffered => StatusCode::ACCEPTED,
        SendStatus::Duplicate => StatusCode::OK,
    };
    let id = receipt.id;
    let mut response = (status, Json(SendResponse::from(receipt))).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("{}/tasks/{}", super::PREFIX, id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Send a task.
///
/// Validates every field first: a refused task writes nothing. A task with a `unique_key`
/// that a live task holds is not sent: the answer is 200 with the holder's id.
#[utoipa::path(
    post,
    path = "/tasks",
    tag = "tasks",
    request_body = SendTaskRequest,
    responses(
        (status = 200, description = "Not sent: a live task holds the same unique key; its id, with `deduplicated: true`", body = SendResponse),
        (status = 201, description = "Accepted and in the broker", body = SendResponse),
        (status = 202, description = "Accepted and durable; the broker will get it when reachable", body = SendResponse),
        WriteErrors,
    )
)]
pub(crate) async fn send_task(
    State(state): State<ApiState>,
    JsonBody(request): JsonBody<SendTaskRequest>,
) -> Result<Response, ApiError> {
    let spec = request.into_spec(Utc::now())?;
    let receipt = state.client().send_task(spec).await?;
    Ok(accepted(receipt))
}

/// One task, every attempt of it, and its history.
#[utoipa::path(
    get,
    path = "/tasks/{id}",
    tag = "tasks",
    params(("id" = uuid::Uuid, Path, description = "The task id")),
    responses((status = 200, description = "The task", body = TaskDetails), TaskErrors, ReadErrors)
)]
pub(crate) async fn get_task(
    State(state): State<ApiState>,
    TaskIdPath(id): TaskIdPath,
) -> Result<Json<TaskDetails>, ApiError> {
    let details = state.inspector().task(id).await?;
    Ok(Json(TaskDetails::from(&details)))
}

/// Tasks, newest first, one page at a time.
#[utoipa::path(
    get,
    path = "/tasks",
    tag = "tasks",
    params(ListParams),
    responses((status = 200, description = "One page of tasks", body = TaskPage), QueryErrors)
)]
pub(crate) async fn list_tasks(
    State(state): State<ApiState>,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<TaskPage>, ApiError> {
    let (filter, page) = ListParams::from_pairs(pairs)?.into_query()?;
    let page = state.inspector().list(&filter, page).await?;
    Ok(Json(TaskPage::from(&page)))
}
