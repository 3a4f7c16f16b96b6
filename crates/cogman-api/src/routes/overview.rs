//! `GET /queues` (broker queue stats), `GET /workers` (workers alive in the last 30 s) and
//! `GET /counts` (tasks per state per time bucket, the seed's `/daterangecount`).

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use chrono::{TimeDelta, Utc};
use cogman::CountQuery;

use crate::error::ApiError;
use crate::extract::StrictQuery;
use crate::model::{
    BucketView, CountsParams, CountsResponse, QueueList, QueueView, WorkerList, WorkerView,
};
use crate::openapi::{QueryErrors, ReadErrors};
use crate::state::ApiState;

/// Default range of `/counts`: the 30 days before `to`.
const DEFAULT_RANGE: TimeDelta = TimeDelta::days(30);

/// Default bucket of `/counts`: one day (the seed's 1440 minutes).
const DEFAULT_INTERVAL: Duration = Duration::from_secs(24 * 3600);

/// Queue numbers.
#[utoipa::path(
    get,
    path = "/queues",
    tag = "overview",
    responses((status = 200, description = "Every queue cogman uses", body = QueueList), ReadErrors)
)]
pub(crate) async fn queues(State(state): State<ApiState>) -> Result<Json<QueueList>, ApiError> {
    let stats = state.inspector().queues().await?;
    Ok(Json(QueueList {
        supported: stats.is_some(),
        queues: stats.iter().flatten().map(QueueView::from).collect(),
    }))
}

/// Workers alive in the last 30 seconds.
#[utoipa::path(
    get,
    path = "/workers",
    tag = "overview",
    responses((status = 200, description = "Live workers", body = WorkerList), ReadErrors)
)]
pub(crate) async fn workers(State(state): State<ApiState>) -> Result<Json<WorkerList>, ApiError> {
    let alive = state.inspector().workers().await?;
    Ok(Json(WorkerList {
        supported: alive.is_some(),
        workers: alive.iter().flatten().map(WorkerView::from).collect(),
    }))
}

/// Tasks created in a time range, per current state, per bucket.
#[utoipa::path(
    get,
    path = "/counts",
    tag = "overview",
    params(CountsParams),
    responses((status = 200, description = "Buckets with at least one task, oldest first", body = CountsResponse), QueryErrors)
)]
pub(crate) async fn counts(
    State(state): State<ApiState>,
    StrictQuery(params): StrictQuery<CountsParams>,
) -> Result<Json<CountsResponse>, ApiError> {
    let to = params.to.unwrap_or_else(Utc::now);
    let from = params.from.unwrap_or_else(|| {
        to.checked_sub_signed(DEFAULT_RANGE)
            .unwrap_or(chrono::DateTime::<Utc>::MIN_UTC)
    });
    let interval = match params.interval.as_deref() {
        None => DEFAULT_INTERVAL,
        Some(text) => humantime::parse_duration(text).map_err(|e| {
            ApiError::invalid_query(format!(
                "interval {text:?} is not a duration like 15m, 1h or 1d: {e}"
            ))
        })?,
    };
    let query = CountQuery {
        from,
        to,
        bucket: Some(interval),
    };
    let buckets = state.inspector().counts(&query).await?;
    Ok(Json(CountsResponse {
        from,
        to,
        interval_secs: interval.as_secs(),
        buckets: buckets.iter().map(BucketView::from).collect(),
    }))
}
