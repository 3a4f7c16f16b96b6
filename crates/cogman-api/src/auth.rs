//! The token check in front of every route but `/healthz`: `Authorization: Bearer <token>`,
//! looked up by hash in constant time. No token or an unknown one is 401; a read-only token
//! on anything but GET/HEAD is 403. With no tokens configured every request passes (allowed
//! only on loopback, see [`crate::serve`]). The request then carries its [`Caller`]. Tokens
//! are never logged.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::ApiState;
use crate::token::{Role, role_of};

/// The bearer token of a request, if it carries one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

/// True for methods that change nothing.
fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
}

/// Who made a request, as the middleware found out: the role of its token, or `None` when
/// the server has no tokens. Every route behind [`require_token`] can extract it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Caller(pub(crate) Option<Role>);

/// The middleware.
pub(crate) async fn require_token(
    State(state): State<ApiState>,
    mut request: Request,
    next: Next,
) -> Response {
    let options = state.options();
    if !options.requires_auth() {
        request.extensions_mut().insert(Caller(None));
        return next.run(request).await;
    }
    match bearer(request.headers()).and_then(|token| role_of(&options.tokens, token)) {
        None => {
            let mut response = ApiError::Unauthorized.into_response();
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            response
        }
        Some(role) if !is_read(request.method()) && !role.can_write() => {
            ApiError::Forbidden.into_response()
        }
        Some(role) => {
            request.extensions_mut().insert(Caller(Some(role)));
            next.run(request).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_from_the_header() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer abc"),
        );
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  abc "),
        );
        assert_eq!(bearer(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&headers), None);
    }
}
