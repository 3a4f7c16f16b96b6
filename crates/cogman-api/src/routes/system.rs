//! `GET /healthz` (no auth, no data), `GET /whoami` (the caller's role), `GET /metrics`
//! (Prometheus) and `GET /openapi.json`, plus the JSON answers for unknown routes (404) and
//! wrong methods (405).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::{Extension, Json};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::metrics::CONTENT_TYPE as METRICS_CONTENT_TYPE;
use crate::model::{AccessRole, Health, Whoami};
use crate::openapi::ReadErrors;
use crate::state::ApiState;
use crate::token::Role;

/// Liveness: answers without authentication and reveals nothing.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "system",
    security(()),
    responses((status = 200, description = "The server is up", body = Health))
)]
pub(crate) async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// What the caller's token may do.
///
/// `admin` or `read` for the token sent, `none` when the server has no tokens (then every
/// request may do everything). A missing or unknown token is 401, as on every other route.
#[utoipa::path(
    get,
    path = "/whoami",
    tag = "system",
    responses((status = 200, description = "The caller's role", body = Whoami), ReadErrors)
)]
pub(crate) async fn whoami(Extension(Caller(role)): Extension<Caller>) -> Json<Whoami> {
    let role = match role {
        Some(Role::Admin) => AccessRole::Admin,
        Some(Role::Read) => AccessRole::Read,
        None => AccessRole::None,
    };
    Json(Whoami { role })
}

/// Prometheus metrics (OpenMetrics text).
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "system",
    responses(
        (status = 200, description = "Metrics", body = String, content_type = "application/openmetrics-text"),
        ReadErrors,
    )
)]
pub(crate) async fn metrics(State(state): State<ApiState>) -> Result<impl IntoResponse, ApiError> {
    let text = state
        .metrics()
        .render(state.inspector(), state.retention())
        .await?;
    Ok(([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text))
}

/// This document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "system",
    responses((status = 200, description = "The OpenAPI document", body = Object), ReadErrors)
)]
pub(crate) async fn openapi_json() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::openapi::openapi_json(),
    )
}

/// Unknown route.
pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound("no such route; see /api/v1/openapi.json".into())
}

/// Known route, wrong method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
