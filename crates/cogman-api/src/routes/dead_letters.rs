//! `GET /dead-letters` (paged), `POST /dead-letters/{id}/requeue` (a new attempt of the dead
//! task), `DELETE /dead-letters/{id}` and `DELETE /dead-letters` (purge all). Writes need an
//! admin token, like every write.

use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;

use super::tasks::accepted;
use crate::error::ApiError;
use crate::extract::StrictQuery;
use crate::model::{DeadLetterList, DeadLetterParams, PurgedDeadLetters, SendResponse};
use crate::openapi::{QueryErrors, StateErrors, TaskErrors, WriteErrors};
use crate::state::ApiState;

/// The dead letter's id in the path (400 when it is not a number).
pub(crate) struct DeadLetterIdPath(pub(crate) u64);

impl<S: Send + Sync> FromRequestParts<S> for DeadLetterIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("invalid_id", "the dead-letter id is malformed"))?;
        raw.parse().map(DeadLetterIdPath).map_err(|_| {
            ApiError::bad_request("invalid_id", "a dead-letter id is a non-negative integer")
        })
    }
}

/// Dead letters, newest first, one page at a time.
///
/// Messages that can never run (malformed, poison, refused), with the reason, from every
/// backend.
#[utoipa::path(
    get,
    path = "/dead-letters",
    tag = "dead-letters",
    params(DeadLetterParams),
    responses((status = 200, description = "One page of dead letters", body = DeadLetterList), QueryErrors)
)]
pub(crate) async fn list_dead_letters(
    State(state): State<ApiState>,
    StrictQuery(params): StrictQuery<DeadLetterParams>,
) -> Result<Json<DeadLetterList>, ApiError> {
    let limit = params.limit()?;
    let page = state.inspector().dead_letters(params.before, limit).await?;
    Ok(Json(DeadLetterList::from(&page)))
}

/// Send a dead letter's task again.
///
/// A new attempt of the dead task's chain (same name, payload, priority, key and retry
/// budget); the dead letter is removed. 409 when the message did not decode to a task, or a
/// newer attempt of the chain waits or runs.
#[utoipa::path(
    post,
    path = "/dead-letters/{id}/requeue",
    tag = "dead-letters",
    params(("id" = u64, Path, description = "The dead letter")),
    responses(
        (status = 201, description = "The new attempt, in the broker", body = SendResponse),
        (status = 202, description = "The new attempt, waiting for the broker", body = SendResponse),
        TaskErrors,
        StateErrors,
        WriteErrors,
    )
)]
pub(crate) async fn requeue_dead_letter(
    State(state): State<ApiState>,
    DeadLetterIdPath(id): DeadLetterIdPath,
) -> Result<Response, ApiError> {
    let receipt = state.client().requeue_dead_letter(id).await?;
    Ok(accepted(receipt))
}

/// Delete one dead letter.
#[utoipa::path(
    delete,
    path = "/dead-letters/{id}",
    tag = "dead-letters",
    params(("id" = u64, Path, description = "The dead letter")),
    responses((status = 204, description = "Deleted"), TaskErrors, WriteErrors)
)]
pub(crate) async fn delete_dead_letter(
    State(state): State<ApiState>,
    DeadLetterIdPath(id): DeadLetterIdPath,
) -> Result<StatusCode, ApiError> {
    state.client().remove_dead_letter(id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete every dead letter.
#[utoipa::path(
    delete,
    path = "/dead-letters",
    tag = "dead-letters",
    responses((status = 200, description = "How many were deleted", body = PurgedDeadLetters), WriteErrors)
)]
pub(crate) async fn purge_dead_letters(
    State(state): State<ApiState>,
) -> Result<Json<PurgedDeadLetters>, ApiError> {
    let purged = state.client().purge_dead_letters().await?;
    Ok(Json(PurgedDeadLetters { purged }))
}
