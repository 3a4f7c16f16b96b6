//! The cogman REST API: an axum router over a [`cogman::Client`] (and optionally an
//! in-process [`cogman::Worker`]), with an OpenAPI document generated from the handlers,
//! bearer-token auth with two roles and Prometheus metrics. Every route lives under `/api/v1`;
//! `docs/api.md` describes each one. Reads go through [`cogman::Inspector`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cogman_api::{ApiOptions, ApiState, Role, TokenEntry};
//! let client = cogman::Client::connect(&cogman::Config::default()).await?;
//! let options = ApiOptions::with_tokens(vec![TokenEntry::from_plain("a-long-random-admin-token", Role::Admin)]);
//! cogman_api::serve(cogman_api::DEFAULT_LISTEN, ApiState::new(client, options), std::future::pending()).await?;
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - `routes`: the route table ([`router`]) and the middleware stack; one file per group
//!   of handlers (tasks, actions, overview, system).
//! - [`model`]: request and response bodies with their schemas and core conversions.
//! - [`error`]: [`ApiError`] → status and `{"error","message"}` body.
//! - `extract`: extractors that turn bad input into 400/413/415/422.
//! - [`token`] and `auth`: hashed tokens, roles, the constant-time check.
//! - `layers`: request timeout and security headers.
//! - `search`: the search line of `GET /search` (parser and per-task check).
//! - `same_site`: the `Host`, `Origin` and write-header checks that keep other sites out.
//! - `connections`: the accept loop: connection limit, header-read and idle timeouts.
//! - `events`: the live feed behind `GET /events` (one log watcher, broadcast).
//! - `metrics`: the Prometheus registry and the worker observer.
//! - [`openapi`]: the document's fixed parts and shared error responses.
//! - `serve`: [`serve()`], binding (loopback unless tokens are set) and graceful stop.

mod auth;
mod connections;
pub mod error;
mod events;
mod extract;
mod layers;
mod metrics;
pub mod model;
pub mod openapi;
mod options;
mod routes;
mod same_site;
mod search;
mod serve;
mod state;
pub mod token;
mod ui;

pub use error::{ApiError, ErrorBody};
pub use metrics::{CONTENT_TYPE as METRICS_CONTENT_TYPE, MAX_TASK_NAMES};
pub use openapi::openapi;
pub use options::ApiOptions;
pub use routes::{PREFIX, router};
pub use same_site::CLIENT_HEADER;
pub use serve::{DEFAULT_LISTEN, ServeError, check_bind, serve, serve_listener};
pub use state::ApiState;
pub use token::{Role, TokenEntry, TokenError, check_roles, hash_token, parse_tokens};
pub use ui::UI_ROOT;
