//! Middleware around every request: the early body-size check (413 from `Content-Length`,
//! before any byte is read; bodies without one are cut at the same limit while read), the
//! request timeout (503), both with the JSON error shape, and the security headers every
//! response carries.

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::ApiState;

/// Headers set on every response.
const SECURITY_HEADERS: [(HeaderName, &str); 4] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::CONTENT_SECURITY_POLICY, "frame-ancestors 'none'"),
    (header::REFERRER_POLICY, "no-referrer"),
    (header::CACHE_CONTROL, "no-store"),
];

/// Answers 503 when the request (body reading included) takes longer than the configured
/// timeout.
pub(crate) async fn timeout(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let limit = state.options().request_timeout;
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(timeout = ?limit, "request timed out");
            ApiError::Unavailable(format!(
                "the request took longer than {} ms",
                limit.as_millis()
            ))
            .into_response()
        }
    }
}

/// Answers 413 at once when the declared `Content-Length` is over the body limit.
pub(crate) async fn declared_size(
    State(state): State<ApiState>,
    request: Request,
    next: Next,
) -> Response {
    let limit = state.options().body_limit;
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return ApiError::PayloadTooLarge { limit }.into_response();
    }
    next.run(request).await
}

/// Adds the security headers.
pub(crate) async fn security_headers(request: Request, next: Next) -> Response {
    with_security_headers(next.run(request).await)
}

/// `response` with the security headers (also for answers given before the router's layers).
pub(crate) fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
