//! The OpenAPI 3.1 document: [`ApiDoc`] carries the title, tags, bearer security scheme and
//! shared schemas; the paths come from the `#[utoipa::path]` attributes of the handlers as the
//! router registers them (see [`crate::routes`]), so the document and the router cannot drift.
//! The documented error responses shared by many routes are sets such as [`WriteErrors`].

use std::collections::BTreeMap;

use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{IntoResponses, Modify, OpenApi};

use crate::error::ErrorBody;
use crate::model::{LiveCounts, LiveTask};

/// Name of the bearer security scheme.
pub const BEARER: &str = "bearer";

/// The document's fixed parts.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "cogman",
        description = "REST API of the cogman task runner: send, inspect, retry and cancel tasks; \
                       queue, worker and count overviews; metrics. See docs/api.md.",
    ),
    modifiers(&BearerAuth),
    components(schemas(ErrorBody, LiveCounts, LiveTask)),
    tags(
        (name = "tasks", description = "Send, inspect, retry and cancel tasks"),
        (name = "dead-letters", description = "Messages that can never run: list, requeue, purge"),
        (name = "schedules", description = "Periodic tasks: list, add, pause, resume, remove"),
        (name = "overview", description = "Queues, workers and counts"),
        (name = "queues", description = "Named queues: list, pause, resume"),
        (name = "system", description = "Health, the caller's role, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// Adds the bearer scheme and makes it the default requirement (routes without auth say so).
#[derive(Debug)]
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    }
}

/// An error response with the [`ErrorBody`] schema.
fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("ErrorBody")))
                .build(),
        )
        .build()
        .into()
}

/// What each documented error status means.
const ERROR_TABLE: [(u16, &str); 10] = [
    (400, "Malformed JSON, id, cursor or query parameter"),
    (401, "Missing or unknown bearer token"),
    (403, "A read-only token on a write"),
    (404, "No task (or dead letter, or schedule) with this id"),
    (
        409,
        "The task's state does not allow this, the dead letter holds no task to requeue, or the task log keeps no schedules",
    ),
    (413, "Request body over the limit"),
    (415, "Content-Type is not application/json"),
    (422, "A field is invalid"),
    (500, "Internal error"),
    (503, "A backend is unavailable, or the request timed out"),
];

fn responses(codes: &[u16]) -> BTreeMap<String, RefOr<Response>> {
    ERROR_TABLE
        .iter()
        .filter(|(code, _)| codes.contains(code))
        .map(|(code, description)| (code.to_string(), error_response(description)))
        .collect()
}

/// Errors of every authenticated read: 401, 500, 503.
#[derive(Debug)]
pub struct ReadErrors;

impl IntoResponses for ReadErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[401, 500, 503])
    }
}

/// Errors of every write: 400, 401, 403, 413, 415, 422, 500, 503.
#[derive(Debug)]
pub struct WriteErrors;

impl IntoResponses for WriteErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[400, 401, 403, 413, 415, 422, 500, 503])
    }
}

/// A read that takes parameters: [`ReadErrors`] and 400.
#[derive(Debug)]
pub struct QueryErrors;

impl IntoResponses for QueryErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[400, 401, 500, 503])
    }
}

/// A request about one task, dead letter or schedule: 400 (malformed id) and 404.
#[derive(Debug)]
pub struct TaskErrors;

impl IntoResponses for TaskErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[400, 404])
    }
}

/// An action the task's state may forbid: 409.
#[derive(Debug)]
pub struct StateErrors;

impl IntoResponses for StateErrors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses(&[409])
    }
}

/// The whole document, built from the same routes as the router.
pub fn openapi() -> utoipa::openapi::OpenApi {
    crate::routes::documented().into_openapi()
}

/// The document as JSON, built once.
pub(crate) fn openapi_json() -> &'static str {
    static JSON: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    JSON.get_or_init(|| {
        openapi()
            .to_json()
            .expect("invariant: the OpenAPI document serializes to JSON")
    })
}
