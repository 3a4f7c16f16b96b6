//! Token auth: no token and a wrong token are 401, a read-only token may read but not write
//! (403), the admin token may do both; `/whoami` names the role; `/healthz` is open,
//! `/metrics` needs a token; a non-loopback address is refused without tokens.

use axum::body::Body;
use axum::http::{Method, Request, header};
use cogman_api::{ApiOptions, ApiState, ServeError};
use serde_json::json;

use crate::common::{ADMIN, Harness, READER};

fn with_token(
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<serde_json::Value>,
) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    match body {
        Some(body) => builder
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string())),
        None => builder
            .header(cogman_api::CLIENT_HEADER, "tests")
            .body(Body::empty()),
    }
    .expect("request")
}

#[tokio::test]
async fn whoami_names_the_role_of_the_token() {
    let api = Harness::with_tokens().await;
    for (token, role) in [(ADMIN, "admin"), (READER, "read")] {
        let reply = api
            .call_raw(with_token(Method::GET, "/api/v1/whoami", Some(token), None))
            .await
            .expect(200);
        assert_eq!(reply.json(), json!({ "role": role }));
    }
    for token in [None, Some("admin-token-for-tests-000002")] {
        let reply = api
            .call_raw(with_token(Method::GET, "/api/v1/whoami", token, None))
            .await
            .expect(401);
        assert_eq!(reply.code(), "unauthorized", "{token:?}");
    }
    api.stop().await;

    let open = Harness::open().await;
    let reply = open
        .call_raw(with_token(Method::GET, "/api/v1/whoami", None, None))
        .await
        .expect(200);
    assert_eq!(
        reply.json(),
        json!({ "role": "none" }),
        "a server without tokens"
    );
    open.stop().await;
}

#[tokio::test]
async fn tokens_decide_who_may_read_and_write() {
    let api = Harness::with_tokens().await;
    let task = json!({"name": "a"});
    let before = api.snapshot().await;
    for (what, token) in [
        ("no token", None),
        ("wrong token", Some("admin-token-for-tests-000002")),
    ] {
        for request in [
            with_token(Method::POST, "/api/v1/tasks", token, Some(task.clone())),
            with_token(Method::GET, "/api/v1/tasks", token, None),
            with_token(Method::GET, "/api/v1/metrics", token, None),
            with_token(Method::GET, "/api/v1/openapi.json", token, None),
        ] {
            let uri = request.uri().clone();
            let reply = api.call_raw(request).await;
            assert_eq!(reply.status.as_u16(), 401, "{what} on {uri}");
            assert_eq!(reply.code(), "unauthorized");
            assert_eq!(
                reply
                    .headers
                    .get(header::WWW_AUTHENTICATE)
                    .and_then(|v| v.to_str().ok()),
                Some("Bearer")
            );
        }
    }
    let reply = api
        .call_raw(with_token(
            Method::POST,
            "/api/v1/tasks",
            Some(READER),
            Some(task.clone()),
        ))
        .await
        .expect(403);
    assert_eq!(reply.code(), "forbidden");
    assert_eq!(
        api.snapshot().await,
        before,
        "refused writes change nothing"
    );

    api.call_raw(with_token(Method::GET, "/api/v1/tasks", Some(READER), None))
        .await
        .expect(200);
    api.call_raw(with_token(
        Method::GET,
        "/api/v1/metrics",
        Some(READER),
        None,
    ))
    .await
    .expect(200);
    let sent = api
        .call_raw(with_token(
            Method::POST,
            "/api/v1/tasks",
            Some(ADMIN),
            Some(task),
        ))
        .await
        .expect(201);
    let id = sent.json()["id"].as_str().expect("id").to_owned();
    api.call_raw(with_token(
        Method::GET,
        &format!("/api/v1/tasks/{id}"),
        Some(READER),
        None,
    ))
    .await
    .expect(200);
    let cancel = format!("/api/v1/tasks/{id}/cancel");
    api.call_raw(with_token(Method::POST, &cancel, Some(READER), None))
        .await
        .expect(403);
    api.call_raw(with_token(Method::POST, &cancel, Some(ADMIN), None))
        .await
        .expect(200);
    api.stop().await;
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let api = Harness::with_tokens().await;
    for reply in [
        api.get("/api/v1/tasks").await,
        api.call_raw(with_token(Method::GET, "/api/v1/tasks", None, None))
            .await,
    ] {
        let get = |name: &str| {
            reply
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        assert_eq!(get("x-content-type-options").as_deref(), Some("nosniff"));
        assert_eq!(
            get("content-security-policy").as_deref(),
            Some("frame-ancestors 'none'")
        );
    }
    api.stop().await;
}

#[tokio::test]
async fn a_public_address_is_refused_without_tokens() {
    let api = Harness::open().await;
    let state = ApiState::new(api.client.clone(), ApiOptions::default());
    let public = "0.0.0.0:0".parse().expect("address");
    let error = cogman_api::serve(public, state.clone(), std::future::ready(()))
        .await
        .expect_err("refused");
    assert!(
        matches!(error, ServeError::NoTokensOnPublicAddress { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("127.0.0.1"),
        "the message says what to do: {error}"
    );

    let listener = tokio::net::TcpListener::bind("0.0.0.0:0")
        .await
        .expect("bind");
    let error = cogman_api::serve_listener(listener, state, std::future::ready(()))
        .await
        .expect_err("refused");
    assert!(
        matches!(error, ServeError::NoTokensOnPublicAddress { .. }),
        "{error:?}"
    );
    api.stop().await;
}
