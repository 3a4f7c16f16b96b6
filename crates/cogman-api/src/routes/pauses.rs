//! `GET /named-queues` (each named queue and its pause), `POST /named-queues/{name}/pause` and
//! `POST /named-queues/{name}/resume`. A paused queue accepts sends and delivers nothing to
//! any worker until resumed. Writes need an admin token, like every write.

use axum::Json;
use axum::extract::{Path, State};

use crate::error::ApiError;
use crate::model::{NamedQueueList, NamedQueueView};
use crate::openapi::{ReadErrors, StateErrors, WriteErrors};
use crate::state::ApiState;

/// The named queues and their pauses.
///
/// `default`, the queues live workers consume, and the paused ones, by name. 409 when the
/// task log cannot pause queues.
#[utoipa::path(
    get,
    path = "/named-queues",
    tag = "queues",
    responses(
        (status = 200, description = "Every named queue known", body = NamedQueueList),
        ReadErrors,
        StateErrors,
    )
)]
pub(crate) async fn named_queues(
    State(state): State<ApiState>,
) -> Result<Json<NamedQueueList>, ApiError> {
    let queues = state.inspector().named_queues().await?;
    Ok(Json(NamedQueueList {
        queues: queues.iter().map(NamedQueueView::from).collect(),
    }))
}

/// Pause a named queue.
///
/// Sends are still accepted; no worker takes its tasks until it is resumed (workers notice
/// within a second). Pausing a paused queue changes nothing.
#[utoipa::path(
    post,
    path = "/named-queues/{name}/pause",
    tag = "queues",
    params(("name" = String, Path, description = "A named queue (A-Z a-z 0-9 . _ -)")),
    responses(
        (status = 200, description = "The queue, paused", body = NamedQueueView),
        StateErrors,
        WriteErrors,
    )
)]
pub(crate) async fn pause_queue(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<NamedQueueView>, ApiError> {
    state.client().pause_queue(&name).await?;
    one(&state, name).await
}

/// Resume a named queue.
///
/// Workers take its tasks again, where they stopped. Resuming a queue that is not paused
/// changes nothing.
#[utoipa::path(
    post,
    path = "/named-queues/{name}/resume",
    tag = "queues",
    params(("name" = String, Path, description = "A named queue (A-Z a-z 0-9 . _ -)")),
    responses(
        (status = 200, description = "The queue, delivering", body = NamedQueueView),
        StateErrors,
        WriteErrors,
    )
)]
pub(crate) async fn resume_queue(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<NamedQueueView>, ApiError> {
    state.client().resume_queue(&name).await?;
    one(&state, name).await
}

/// The named queue `name` as it is now.
async fn one(state: &ApiState, name: String) -> Result<Json<NamedQueueView>, ApiError> {
    let paused = state.inspector().paused_queues().await?;
    let paused_since = paused.iter().find(|p| p.queue == name).map(|p| p.since);
    Ok(Json(NamedQueueView {
        paused: paused_since.is_some(),
        paused_since,
        name,
    }))
}
