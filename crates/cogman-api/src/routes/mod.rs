//! The route table. Every route is registered through utoipa-axum's `routes!`, which takes
//! the path and method from the handler's `#[utoipa::path]`, so the router and the OpenAPI
//! document are built from the same list ([`documented`]). [`router`] adds the token check,
//! body limit, timeout, security headers and JSON 404/405 answers, serves `/healthz` and
//! `/metrics` at the root too (where load balancers and Prometheus look by default), and puts
//! the same-site guard in front of it all (the UI included).
//!
//! - [`tasks`]: send, get, list.
//! - [`actions`]: retry, cancel.
//! - [`bulk`]: retry or cancel many tasks.
//! - [`dead_letters`]: list, requeue, delete, purge.
//! - [`schedules`]: list, add or replace, get, remove, pause, resume.
//! - [`overview`]: queues, workers, counts.
//! - [`pauses`]: named queues, pause, resume.
//! - [`events`]: the live feed (server-sent events).
//! - [`search`]: the search line over the whole log.
//! - [`system`]: health, whoami, metrics, the OpenAPI document, fallbacks.

mod actions;
mod bulk;
mod dead_letters;
mod events;
mod overview;
mod pauses;
mod schedules;
mod search;
mod system;
mod tasks;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::routing::get;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::ApiDoc;
use crate::state::ApiState;

/// Where every route lives.
pub const PREFIX: &str = "/api/v1";

/// Routes that need a token (when tokens are configured).
fn protected() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new()
        .routes(routes!(tasks::send_task, tasks::list_tasks))
        .routes(routes!(tasks::get_task))
        .routes(routes!(search::search))
        .routes(routes!(actions::retry_task))
        .routes(routes!(actions::cancel_task))
        .routes(routes!(bulk::bulk))
        .routes(routes!(
            dead_letters::list_dead_letters,
            dead_letters::purge_dead_letters
        ))
        .routes(routes!(dead_letters::requeue_dead_letter))
        .routes(routes!(dead_letters::delete_dead_letter))
        .routes(routes!(schedules::list_schedules, schedules::put_schedule))
        .routes(routes!(schedules::get_schedule, schedules::delete_schedule))
        .routes(routes!(schedules::pause_schedule))
        .routes(routes!(schedules::resume_schedule))
        .routes(routes!(overview::queues))
        .routes(routes!(pauses::named_queues))
        .routes(routes!(pauses::pause_queue))
        .routes(routes!(pauses::resume_queue))
        .routes(routes!(overview::workers))
        .routes(routes!(overview::counts))
        .routes(routes!(events::events))
        .routes(routes!(system::whoami))
        .routes(routes!(system::metrics))
        .routes(routes!(system::openapi_json))
}

/// Routes open to all.
fn open() -> OpenApiRouter<ApiState> {
    OpenApiRouter::new().routes(routes!(system::healthz))
}

/// Every route with its documentation, without middleware.
pub(crate) fn documented() -> OpenApiRouter<ApiState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest(PREFIX, protected().merge(open()))
}

/// `/healthz` (open) and `/metrics` (token as under [`PREFIX`]) at the root.
fn root_aliases(state: &ApiState) -> Router<ApiState> {
    Router::new()
        .route(
            "/metrics",
            get(system::metrics).route_layer(from_fn_with_state(
                state.clone(),
                crate::auth::require_token,
            )),
        )
        .route("/healthz", get(system::healthz))
}

/// The API as an axum router.
pub fn router(state: ApiState) -> Router {
    let protected = protected()
        .route_layer(from_fn(crate::same_site::api_write))
        .route_layer(from_fn_with_state(
            state.clone(),
            crate::auth::require_token,
        ));
    let (router, _) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .nest(PREFIX, protected.merge(open()))
        .split_for_parts();
    router
        .merge(root_aliases(&state))
        .method_not_allowed_fallback(system::method_not_allowed)
        .fallback(system::not_found)
        .layer(DefaultBodyLimit::max(state.options().body_limit))
        .layer(from_fn_with_state(
            state.clone(),
            crate::layers::declared_size,
        ))
        .layer(from_fn_with_state(state.clone(), crate::layers::timeout))
        .layer(TraceLayer::new_for_http())
        .layer(from_fn(crate::layers::security_headers))
        .with_state(state.clone())
        .merge(crate::ui::router())
        .layer(from_fn_with_state(state, crate::same_site::guard))
}
