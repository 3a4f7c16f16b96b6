//! `GET /events`: the live feed as server-sent events (`counts`, `task`, `resync`), read with
//! the same token as every other read.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::Utc;
use futures::stream::{self, Stream, StreamExt as _};
use tokio::sync::broadcast::error::RecvError;

use crate::error::ApiError;
use crate::events::LiveEvent;
use crate::model::LiveCounts;
use crate::openapi::ReadErrors;
use crate::state::ApiState;

/// A comment line this often keeps proxies from closing a quiet stream and shows a gone
/// client early.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Milliseconds a browser's `EventSource` waits before reconnecting.
const RETRY: Duration = Duration::from_secs(2);

fn sse(event: &LiveEvent) -> Event {
    let built = match event {
        LiveEvent::Counts(counts) => Event::default().event("counts").json_data(counts),
        LiveEvent::Task(task) => Event::default().event("task").json_data(task),
    };
    // Serializing these plain structs cannot fail; a failure would still reach the client
    // as a reason to reload.
    built.unwrap_or_else(|_| resync())
}

/// Tells the client it missed events: reload what it shows.
fn resync() -> Event {
    Event::default().event("resync").data("{}")
}

/// Live updates (server-sent events).
///
/// A `text/event-stream` that stays open. The first event is `counts`; after it, `task` when
/// an attempt among the newest appears or changes state, `counts` when the totals per state
/// change, and `resync` when this client fell behind and should reload. Each `data` is one JSON
/// object (`LiveCounts` or `LiveTask`; `{}` for `resync`). The server reads the task log about
/// once a second while anyone listens, so it reports the work of every process sharing the log.
/// Lines starting with `:` keep the connection alive. See docs/api.md.
#[utoipa::path(
    get,
    path = "/events",
    tag = "overview",
    responses(
        (status = 200, description = "The live feed: server-sent events, never ending on its own", body = String, content_type = "text/event-stream"),
        ReadErrors,
    )
)]
pub(crate) async fn events(
    State(state): State<ApiState>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let hub = state.events();
    // Subscribed before reading the totals, so no change falls between the two.
    let receiver = hub.subscribe(state.inspector());
    let totals = state.inspector().totals().await?;
    let first = sse(&LiveEvent::Counts(LiveCounts::new(Utc::now(), &totals))).retry(RETRY);
    let changes = stream::unfold(receiver, |mut receiver| async move {
        let event = match receiver.recv().await {
            Ok(event) => sse(&event),
            Err(RecvError::Lagged(_)) => resync(),
            Err(RecvError::Closed) => return None,
        };
        Some((event, receiver))
    });
    let feed = stream::once(async move { first })
        .chain(changes)
        .take_until(hub.closed())
        .map(Ok);
    Ok(Sse::new(feed).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
