//! `GET /schedules` (every schedule, its next and last runs, and the scheduler's leader),
//! `POST /schedules` (add or replace), `GET`/`DELETE /schedules/{id}`, and
//! `POST /schedules/{id}/pause` and `/resume`. Changes need an admin token, like every write.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;

use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::model::{ScheduleBody, ScheduleList, ScheduleRequest, SchedulerLeader};
use crate::openapi::{ReadErrors, StateErrors, TaskErrors, WriteErrors};
use crate::state::ApiState;

/// The schedule's id in the path (400 when it is not a valid id).
pub(crate) struct ScheduleIdPath(pub(crate) String);

impl<S: Send + Sync> FromRequestParts<S> for ScheduleIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("invalid_id", "the schedule id is malformed"))?;
        cogman::schedule::validate_id(&raw)
            .map_err(|error| ApiError::bad_request("invalid_id", error.to_string()))?;
        Ok(ScheduleIdPath(raw))
    }
}

async fn view(state: &ApiState, id: &str) -> Result<Json<ScheduleBody>, ApiError> {
    let view = state.inspector().schedule(id).await?;
    Ok(Json(ScheduleBody::from(&view)))
}

/// Every schedule, by id, and the process that sends them now.
#[utoipa::path(
    get,
    path = "/schedules",
    tag = "schedules",
    responses((status = 200, description = "Every schedule", body = ScheduleList), StateErrors, ReadErrors)
)]
pub(crate) async fn list_schedules(
    State(state): State<ApiState>,
) -> Result<Json<ScheduleList>, ApiError> {
    let inspector = state.inspector();
    let items = inspector.schedules().await?;
    let leader = inspector.scheduler_leader().await?;
    Ok(Json(ScheduleList {
        items: items.iter().map(ScheduleBody::from).collect(),
        leader: leader.map(|(holder, until)| SchedulerLeader { holder, until }),
    }))
}

/// Add a schedule, or replace the one with its id.
///
/// Everything is checked first: a refused schedule stores nothing. A replaced schedule keeps
/// its last run; slots of its former definition are not sent.
#[utoipa::path(
    post,
    path = "/schedules",
    tag = "schedules",
    request_body = ScheduleRequest,
    responses(
        (status = 200, description = "Replaced", body = ScheduleBody),
        (status = 201, description = "Added", body = ScheduleBody),
        StateErrors,
        WriteErrors,
    )
)]
pub(crate) async fn put_schedule(
    State(state): State<ApiState>,
    JsonBody(request): JsonBody<ScheduleRequest>,
) -> Result<(StatusCode, Json<ScheduleBody>), ApiError> {
    let schedule = request.into_schedule()?;
    let existed = match state.inspector().schedule(&schedule.id).await {
        Ok(_) => true,
        Err(cogman::Error::ScheduleNotFound(_)) => false,
        Err(error) => return Err(error.into()),
    };
    state.client().put_schedule(&schedule).await?;
    let status = if existed {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, view(&state, &schedule.id).await?))
}

/// One schedule, with its next and last runs.
#[utoipa::path(
    get,
    path = "/schedules/{id}",
    tag = "schedules",
    params(("id" = String, Path, description = "The schedule's id")),
    responses((status = 200, description = "The schedule", body = ScheduleBody), TaskErrors, StateErrors, ReadErrors)
)]
pub(crate) async fn get_schedule(
    State(state): State<ApiState>,
    ScheduleIdPath(id): ScheduleIdPath,
) -> Result<Json<ScheduleBody>, ApiError> {
    view(&state, &id).await
}

/// Remove a schedule (and its slot claims).
#[utoipa::path(
    delete,
    path = "/schedules/{id}",
    tag = "schedules",
    params(("id" = String, Path, description = "The schedule's id")),
    responses((status = 204, description = "Removed"), TaskErrors, StateErrors, WriteErrors)
)]
pub(crate) async fn delete_schedule(
    State(state): State<ApiState>,
    ScheduleIdPath(id): ScheduleIdPath,
) -> Result<StatusCode, ApiError> {
    state.client().remove_schedule(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pause a schedule: it sends nothing until resumed, and slots passed meanwhile are never sent.
#[utoipa::path(
    post,
    path = "/schedules/{id}/pause",
    tag = "schedules",
    params(("id" = String, Path, description = "The schedule's id")),
    responses((status = 200, description = "The paused schedule", body = ScheduleBody), TaskErrors, StateErrors, WriteErrors)
)]
pub(crate) async fn pause_schedule(
    State(state): State<ApiState>,
    ScheduleIdPath(id): ScheduleIdPath,
) -> Result<Json<ScheduleBody>, ApiError> {
    state.client().pause_schedule(&id, true).await?;
    view(&state, &id).await
}

/// Resume a paused schedule from its next slot.
#[utoipa::path(
    post,
    path = "/schedules/{id}/resume",
    tag = "schedules",
    params(("id" = String, Path, description = "The schedule's id")),
    responses((status = 200, description = "The resumed schedule", body = ScheduleBody), TaskErrors, StateErrors, WriteErrors)
)]
pub(crate) async fn resume_schedule(
    State(state): State<ApiState>,
    ScheduleIdPath(id): ScheduleIdPath,
) -> Result<Json<ScheduleBody>, ApiError> {
    state.client().pause_schedule(&id, false).await?;
    view(&state, &id).await
}
