//! The guard that keeps web pages of other sites away from the API, whether or not tokens are
//! configured (without tokens it is the only protection of a loopback server, see
//! `docs/api.md`, "Security model"):
//!
//! - the `Host` must be an IP address, `localhost`, or a name in
//!   [`ApiOptions::allowed_hosts`](crate::ApiOptions::allowed_hosts) (421 otherwise): a page
//!   that rebinds its own DNS name to 127.0.0.1 sends its own name;
//! - an `Origin`, when sent, must be the server's own, `http(s)://` + the `Host` (403
//!   otherwise): browsers send it on every cross-site `fetch` and form post;
//! - a request that changes something (any method but GET, HEAD and OPTIONS) must carry
//!   `Content-Type: application/json` or an `X-Cogman-Client` header (415 otherwise): neither
//!   can be sent by a cross-site form, and a cross-site `fetch` with them needs a CORS
//!   preflight, which the API never grants.

use std::net::IpAddr;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::options::ApiOptions;
use crate::state::ApiState;

/// The header that marks a request as coming from an API client rather than a web form
/// (its value is free: `cogman-cli`, `cogman-ui`, …).
pub const CLIENT_HEADER: &str = "x-cogman-client";

/// The host and origin checks, in front of every route (the UI's too).
pub(crate) async fn guard(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    match check_site(state.options(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(error) => refuse(error),
    }
}

/// The write check, on the API's routes (after routing, so an unknown route is still a 404).
pub(crate) async fn api_write(request: Request, next: Next) -> Response {
    match check_write(request.method(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(error) => refuse(error),
    }
}

fn refuse(error: ApiError) -> Response {
    tracing::warn!(%error, "refused a request that may come from another site");
    crate::layers::with_security_headers(error.into_response())
}

/// The three checks, in order: host, origin, then how a write was sent.
#[cfg(test)]
fn check(options: &ApiOptions, method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
    check_site(options, headers)?;
    check_write(method, headers)
}

/// A request that changes something carries JSON or the client header.
fn check_write(method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
    let reads = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !reads && !headers.contains_key(CLIENT_HEADER) && !has_json_body(headers) {
        return Err(ApiError::NotAnApiRequest);
    }
    Ok(())
}

/// The `Host` is one of ours, and the `Origin`, when sent, is our own.
fn check_site(options: &ApiOptions, headers: &HeaderMap) -> Result<(), ApiError> {
    let host = headers
        .get(header::HOST)
        .map(|v| {
            v.to_str()
                .map_err(|_| ApiError::UnknownHost(lossy(v.as_bytes())))
        })
        .transpose()?;
    if let Some(host) = host
        && !host_allowed(options, host)
    {
        return Err(ApiError::UnknownHost(host.chars().take(100).collect()));
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let own = origin
            .to_str()
            .ok()
            .zip(host)
            .is_some_and(|(origin, host)| is_own_origin(origin, host));
        if !own {
            return Err(ApiError::ForeignOrigin(lossy(origin.as_bytes())));
        }
    }
    Ok(())
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).chars().take(100).collect()
}

/// The host name of a `Host` value: the port and an IPv6 address's brackets left out.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    host.rsplit_once(':').map_or(host, |(name, _port)| name)
}

/// IP addresses (a page cannot rebind those), `localhost`, and the configured names.
fn host_allowed(options: &ApiOptions, host: &str) -> bool {
    let name = host_name(host).trim_end_matches('.');
    name.parse::<IpAddr>().is_ok()
        || name.eq_ignore_ascii_case("localhost")
        || options
            .allowed_hosts
            .iter()
            .any(|allowed| allowed == "*" || allowed.eq_ignore_ascii_case(name))
}

/// True when `origin` is `http://HOST` or `https://HOST` for this request's `Host`.
fn is_own_origin(origin: &str, host: &str) -> bool {
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|authority| {
            authority.eq_ignore_ascii_case(host)
                || [":80", ":443"].iter().any(|port| {
                    host.strip_suffix(port)
                        .is_some_and(|name| authority.eq_ignore_ascii_case(name))
                })
        })
}

/// `Content-Type: application/json` (or `application/*+json`).
fn has_json_body(headers: &HeaderMap) -> bool {
    crate::extract::is_json(headers) == Some(true)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| {
                (
                    header::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    #[test]
    fn hosts_are_ip_addresses_localhost_or_configured_names() {
        let options = ApiOptions {
            allowed_hosts: vec!["cogman.internal".into()],
            ..ApiOptions::default()
        };
        for host in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST",
            "[::1]:8080",
            "10.1.2.3",
            "cogman.internal:8080",
        ] {
            assert!(host_allowed(&options, host), "{host}");
        }
        for host in [
            "evil.example:8080",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
        ] {
            assert!(!host_allowed(&options, host), "{host}");
        }
        let any = ApiOptions {
            allowed_hosts: vec!["*".into()],
            ..ApiOptions::default()
        };
        assert!(host_allowed(&any, "whatever.example"));
    }

    #[test]
    fn origins_must_be_the_servers_own() {
        assert!(is_own_origin("http://127.0.0.1:8080", "127.0.0.1:8080"));
        assert!(is_own_origin(
            "https://cogman.internal",
            "cogman.internal:443"
        ));
        assert!(!is_own_origin("http://evil.example", "127.0.0.1:8080"));
        assert!(!is_own_origin("null", "127.0.0.1:8080"));
        assert!(!is_own_origin("http://127.0.0.1:9999", "127.0.0.1:8080"));
    }

    #[test]
    fn writes_need_json_or_the_client_header() {
        let options = ApiOptions::default();
        let form = headers(&[
            ("host", "127.0.0.1:8080"),
            ("content-type", "application/x-www-form-urlencoded"),
        ]);
        assert_eq!(
            check(&options, &Method::POST, &form),
            Err(ApiError::NotAnApiRequest)
        );
        assert_eq!(check(&options, &Method::GET, &form), Ok(()));
        let json = headers(&[("content-type", "application/json")]);
        assert_eq!(check(&options, &Method::POST, &json), Ok(()));
        let client = headers(&[("x-cogman-client", "cogman-cli")]);
        assert_eq!(check(&options, &Method::POST, &client), Ok(()));
        let rebound = headers(&[("host", "evil.example:8080"), ("x-cogman-client", "x")]);
        assert!(matches!(
            check(&options, &Method::GET, &rebound),
            Err(ApiError::UnknownHost(_))
        ));
        let cross = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://evil.example"),
            ("content-type", "application/json"),
        ]);
        assert!(matches!(
            check(&options, &Method::POST, &cross),
            Err(ApiError::ForeignOrigin(_))
        ));
    }
}
