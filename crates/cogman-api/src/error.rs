//! [`ApiError`]: every way a request can fail, mapped to one HTTP status and one JSON shape,
//! `{"error": "<code>", "message": "..."}` ([`ErrorBody`]). Internal errors are logged once
//! here and answered without their details.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cogman::{BrokerError, TaskLogError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// A stable, machine-readable code (see `docs/api.md`).
    #[schema(example = "invalid_field")]
    pub error: String,
    /// What went wrong, for people.
    #[schema(example = "task name is empty")]
    pub message: String,
}

/// A failed request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The body is not JSON, or an id, cursor or query parameter is malformed (400).
    #[error("{message}")]
    BadRequest {
        /// The code: `malformed_json`, `invalid_id`, `invalid_query`.
        code: &'static str,
        /// Why.
        message: String,
    },
    /// No or an unknown token (401).
    #[error("a valid bearer token is required")]
    Unauthorized,
    /// A read-only token was used on a write (403).
    #[error("this token may only read; writes need an admin token")]
    Forbidden,
    /// No task with this id, or no such route (404).
    #[error("{0}")]
    NotFound(String),
    /// The route exists but not for this method (405).
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// Retry or cancel in a state that does not allow it (409).
    #[error("{0}")]
    Conflict(String),
    /// The body is over the limit (413).
    #[error("request body is over the limit of {limit} bytes")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body is not `application/json` (415).
    #[error("expected a request with Content-Type: application/json")]
    UnsupportedMediaType,
    /// A request that changes something, without `Content-Type: application/json` or the
    /// [`CLIENT_HEADER`](crate::CLIENT_HEADER): what a cross-site form could send (415).
    #[error(
        "a request that changes something needs Content-Type: application/json or an X-Cogman-Client header"
    )]
    NotAnApiRequest,
    /// An `Origin` other than the server's own: a page of another site (403).
    #[error("requests from the origin {0:?} are refused: the API only answers its own pages")]
    ForeignOrigin(String),
    /// A `Host` the server does not answer to, as in a DNS-rebinding attack (421).
    #[error(
        "this server does not answer to the host {0:?}; add it with --allow-host if it is its name"
    )]
    UnknownHost(String),
    /// A field is invalid (422).
    #[error("{0}")]
    InvalidField(String),
    /// A backend is unreachable, or the request took too long (503).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else (500); details are logged, not returned.
    #[error("internal error")]
    Internal,
}

impl ApiError {
    /// A 400 with `code`.
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// A 400 `invalid_query`.
    pub(crate) fn invalid_query(message: impl Into<String>) -> Self {
        ApiError::bad_request("invalid_query", message)
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType | ApiError::NotAnApiRequest => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ApiError::ForeignOrigin(_) => StatusCode::FORBIDDEN,
            ApiError::UnknownHost(_) => StatusCode::MISDIRECTED_REQUEST,
            ApiError::InvalidField(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable code in the body's `error` field.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest { code, .. } => code,
            ApiError::Unauthorized => "unauthorized",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Conflict(_) => "conflict",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::UnsupportedMediaType | ApiError::NotAnApiRequest => "unsupported_media_type",
            ApiError::ForeignOrigin(_) => "forbidden_origin",
            ApiError::UnknownHost(_) => "unknown_host",
            ApiError::InvalidField(_) => "invalid_field",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal => "internal",
        }
    }

    /// The response body.
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: self.code().to_owned(),
            message: self.to_string(),
        }
    }

    /// Logs `error` once and returns the opaque 500.
    pub(crate) fn internal(error: &dyn std::error::Error) -> Self {
        tracing::error!(error = %DisplayChain(error), "internal error while serving a request");
        ApiError::Internal
    }
}

/// Shows an error with its sources, for logs.
struct DisplayChain<'a>(&'a dyn std::error::Error);

impl std::fmt::Display for DisplayChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(error) = source {
            write!(f, ": {error}")?;
            source = error.source();
        }
        Ok(())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status(), Json(self.body())).into_response()
    }
}

impl From<TaskLogError> for ApiError {
    fn from(error: TaskLogError) -> Self {
        match error {
            TaskLogError::InvalidQuery(message) => ApiError::invalid_query(message),
            error @ TaskLogError::AttemptTaken { .. } => ApiError::Conflict(error.to_string()),
            error if error.is_transient() => {
                tracing::warn!(%error, "task log unavailable");
                ApiError::Unavailable("the task log is unavailable; try again".into())
            }
            error => ApiError::internal(&error),
        }
    }
}

impl From<BrokerError> for ApiError {
    fn from(error: BrokerError) -> Self {
        if error.is_transient()
            || matches!(
                error,
                BrokerError::BufferFull { .. } | BrokerError::Refused(_)
            )
        {
            tracing::warn!(%error, "broker unavailable");
            ApiError::Unavailable(error.to_string())
        } else {
            ApiError::internal(&error)
        }
    }
}

impl From<cogman::Error> for ApiError {
    fn from(error: cogman::Error) -> Self {
        match error {
            cogman::Error::Validation(error) => ApiError::InvalidField(error.to_string()),
            cogman::Error::NotFound(id) => ApiError::NotFound(format!("no task with id {id}")),
            error @ (cogman::Error::InvalidState { .. } | cogman::Error::AttemptPending { .. }) => {
                ApiError::Conflict(error.to_string())
            }
            cogman::Error::DeadLetterNotFound(id) => {
                ApiError::NotFound(format!("no dead letter with id {id}"))
            }
            error @ (cogman::Error::DeadLetterNotRequeueable { .. }
            | cogman::Error::DeadLettersUnsupported
            | cogman::Error::QueuePausesUnsupported) => ApiError::Conflict(error.to_string()),
            cogman::Error::ScheduleNotFound(id) => {
                ApiError::NotFound(format!("no schedule with id {id:?}"))
            }
            error @ cogman::Error::SchedulesUnsupported => ApiError::Conflict(error.to_string()),
            cogman::Error::Schedule(error) => ApiError::InvalidField(error.to_string()),
            cogman::Error::UnknownTask(name) => {
                ApiError::InvalidField(format!("no handler is registered for task name {name:?}"))
            }
            cogman::Error::Broker(error) => error.into(),
            cogman::Error::TaskLog(error) => error.into(),
            error => ApiError::internal(&error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_codes_match_the_documented_table() {
        let cases = [
            (ApiError::invalid_query("x"), 400, "invalid_query"),
            (ApiError::Unauthorized, 401, "unauthorized"),
            (ApiError::Forbidden, 403, "forbidden"),
            (ApiError::NotFound("x".into()), 404, "not_found"),
            (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
            (ApiError::Conflict("x".into()), 409, "conflict"),
            (
                ApiError::PayloadTooLarge { limit: 1 },
                413,
                "payload_too_large",
            ),
            (
                ApiError::UnsupportedMediaType,
                415,
                "unsupported_media_type",
            ),
            (ApiError::InvalidField("x".into()), 422, "invalid_field"),
            (ApiError::Unavailable("x".into()), 503, "unavailable"),
            (ApiError::Internal, 500, "internal"),
        ];
        for (error, status, code) in cases {
            assert_eq!(error.status().as_u16(), status, "{error:?}");
            assert_eq!(error.body().error, code);
        }
    }

    #[test]
    fn library_errors_map_to_client_errors() {
        let validation: ApiError =
            cogman::Error::Validation(cogman::ValidationError::EmptyName).into();
        assert_eq!(validation.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let id = cogman::TaskId::new();
        let missing: ApiError = cogman::Error::NotFound(id).into();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        let state: ApiError = cogman::Error::InvalidState {
            id,
            state: cogman::TaskState::Queued,
            action: "retry",
        }
        .into();
        assert_eq!(state.status(), StatusCode::CONFLICT);
        let query: ApiError = TaskLogError::InvalidQuery("bad range".into()).into();
        assert_eq!(query.status(), StatusCode::BAD_REQUEST);
    }
}
