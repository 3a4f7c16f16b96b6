//! Request extractors that turn every malformed input into an [`ApiError`] with the JSON error
//! shape: [`JsonBody`] (415 wrong content type, 413 over the body limit, 400 malformed JSON,
//! 422 wrong fields), [`TaskIdPath`] (400 for a malformed id), [`QueryPairs`] and
//! [`StrictQuery`] (400 for a malformed query string).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use cogman::TaskId;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::ApiState;

/// True for `application/json` and `application/*+json`, parameters ignored.
pub(crate) fn is_json(headers: &HeaderMap) -> Option<bool> {
    let value = headers.get(header::CONTENT_TYPE)?;
    let mime = value
        .to_str()
        .ok()
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim();
    let mime = mime.to_ascii_lowercase();
    Some(
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")),
    )
}

/// Reads the body within the configured limit.
async fn read_body(request: Request, state: &ApiState) -> Result<Bytes, ApiError> {
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge {
                    limit: state.options().body_limit,
                }
            } else {
                ApiError::bad_request("malformed_body", "the request body could not be read")
            }
        })
}

/// Parses JSON: syntax errors are 400, type and field errors 422.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| match error.classify() {
        serde_json::error::Category::Data => ApiError::InvalidField(error.to_string()),
        _ => ApiError::bad_request(
            "malformed_json",
            format!("the body is not valid JSON: {error}"),
        ),
    })
}

/// A required JSON body.
#[derive(Debug)]
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<T: DeserializeOwned> FromRequest<ApiState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &ApiState) -> Result<Self, Self::Rejection> {
        if is_json(request.headers()) != Some(true) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = read_body(request, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// An optional JSON body: an empty body means `T::default()`; any other body must be JSON.
#[derive(Debug)]
pub(crate) struct OptionalJsonBody<T>(pub(crate) T);

impl<T: DeserializeOwned + Default> FromRequest<ApiState> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &ApiState) -> Result<Self, Self::Rejection> {
        let json = is_json(request.headers());
        let bytes = read_body(request, state).await?;
        match json {
            _ if bytes.is_empty() => Ok(OptionalJsonBody(T::default())),
            Some(true) => parse_json(&bytes).map(OptionalJsonBody),
            _ => Err(ApiError::UnsupportedMediaType),
        }
    }
}

/// A task id from the path.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TaskIdPath(pub(crate) TaskId);

impl<S: Send + Sync> FromRequestParts<S> for TaskIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| {
                ApiError::bad_request("invalid_id", "the task id in the path is malformed")
            })?;
        raw.parse()
            .map(TaskIdPath)
            .map_err(|error: cogman::ValidationError| {
                ApiError::bad_request("invalid_id", error.to_string())
            })
    }
}

/// The query string as `(key, value)` pairs, in order, repeats kept.
#[derive(Debug, Default)]
pub(crate) struct QueryPairs(pub(crate) Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|Query(pairs)| QueryPairs(pairs))
            .map_err(|error| ApiError::invalid_query(error.body_text()))
    }
}

/// A query string deserialized into `T` (which should deny unknown fields).
#[derive(Debug)]
pub(crate) struct StrictQuery<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for StrictQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(value)| StrictQuery(value))
            .map_err(|error| ApiError::invalid_query(error.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types_are_recognised() {
        let mut headers = HeaderMap::new();
        assert_eq!(is_json(&headers), None);
        for (value, expected) in [
            ("application/json", true),
            ("application/json; charset=utf-8", true),
            ("Application/JSON", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
            ("application/jsonx", false),
        ] {
            headers.insert(header::CONTENT_TYPE, value.parse().expect("header value"));
            assert_eq!(is_json(&headers), Some(expected), "{value}");
        }
    }

    #[test]
    fn json_errors_split_into_syntax_and_fields() {
        #[derive(Debug, serde::Deserialize)]
        struct Body {
            n: u32,
        }
        assert_eq!(parse_json::<Body>(b"{\"n\":7}").map(|body| body.n), Ok(7));
        let syntax = parse_json::<Body>(b"{\"n\":").expect_err("truncated");
        assert_eq!(syntax.status(), StatusCode::BAD_REQUEST);
        let field = parse_json::<Body>(b"{\"n\":-1}").expect_err("negative");
        assert_eq!(field.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
