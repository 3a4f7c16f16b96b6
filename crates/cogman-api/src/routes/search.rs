//! `GET /search`: the tasks a search line matches, newest first, through the whole log. The
//! terms every task log filters on go to it; the others (id, queue, error text, payload path)
//! are checked on each task read, at most [`SCAN_BUDGET`] tasks per request, and the cursor
//! carries the search on from where it stopped.

use axum::Json;
use axum::extract::State;
use chrono::Utc;
use cogman::{Cursor, PageRequest, Task, TaskFilter};

use crate::error::ApiError;
use crate::extract::StrictQuery;
use crate::model::list::DEFAULT_LIMIT;
use crate::model::{SearchPage, SearchParams, TaskView};
use crate::openapi::QueryErrors;
use crate::search::SearchQuery;
use crate::state::ApiState;

/// Most tasks one request reads from the log.
pub(crate) const SCAN_BUDGET: u64 = 5000;

/// Tasks read from the log per call while checking terms the log cannot filter on.
const BATCH: u32 = 500;

/// Search tasks.
///
/// One line of `field:value` terms (all must hold): `id:`, `name:`, `state:` (comma list),
/// `queue:`, `key:` (primary key), `error:` (text in the error, any case), `chain:`,
/// `created>` / `created<` (RFC 3339 or a duration ago such as `1h`) and `payload.PATH=JSON`
/// (`payload.customer.id=42`, `payload.items[0].sku="A1"`); a bare word is an id or a primary
/// key. Pages through the whole task log: follow `next` until it is null.
#[utoipa::path(
    get,
    path = "/search",
    tag = "tasks",
    params(SearchParams),
    responses((status = 200, description = "One page of matching tasks", body = SearchPage), QueryErrors)
)]
pub(crate) async fn search(
    State(state): State<ApiState>,
    StrictQuery(params): StrictQuery<SearchParams>,
) -> Result<Json<SearchPage>, ApiError> {
    let (query, after, limit) = selection(
        params.q.as_deref(),
        params.after.as_deref(),
        params.limit.unwrap_or(DEFAULT_LIMIT),
    )
    .map_err(ApiError::invalid_query)?;
    let found = find(&state, &query, after, limit).await?;
    Ok(Json(SearchPage {
        items: found.tasks.iter().map(TaskView::from).collect(),
        next: found.next.map(|c| c.to_string()),
        scanned: found.scanned,
    }))
}

/// A search line, cursor and page size checked; the error says what is wrong.
pub(crate) fn selection(
    q: Option<&str>,
    after: Option<&str>,
    limit: u32,
) -> Result<(SearchQuery, Option<Cursor>, u32), String> {
    let query = SearchQuery::parse(q.unwrap_or(""), Utc::now()).map_err(|e| e.to_string())?;
    if !(1..=PageRequest::MAX_LIMIT).contains(&limit) {
        return Err(format!(
            "limit must be 1 to {}, not {limit}",
            PageRequest::MAX_LIMIT
        ));
    }
    let after = after
        .map(|text| {
            text.parse::<Cursor>()
                .map_err(|_| format!("after {text:?} is not a cursor"))
        })
        .transpose()?;
    Ok((query, after, limit))
}

/// What one search request found.
#[derive(Debug)]
pub(crate) struct Found {
    /// The matching tasks, newest first.
    pub(crate) tasks: Vec<Task>,
    /// Where the search goes on; `None` when the whole log was searched.
    pub(crate) next: Option<Cursor>,
    /// How many tasks were read.
    pub(crate) scanned: u64,
}

/// Up to `limit` tasks matching `query` after `after` (also the selection of bulk actions).
pub(crate) async fn find(
    state: &ApiState,
    query: &SearchQuery,
    after: Option<Cursor>,
    limit: u32,
) -> Result<Found, ApiError> {
    match query.id() {
        Some(_) => by_id(state, query, after, limit).await,
        None => scan(state, query, after, limit).await,
    }
}

/// `id:` (or a bare id): the attempts of that task's chain that match, read directly.
async fn by_id(
    state: &ApiState,
    query: &SearchQuery,
    after: Option<Cursor>,
    limit: u32,
) -> Result<Found, ApiError> {
    let log = state.client().log();
    let found = match query.id() {
        Some(id) if after.is_none() => log.get(id).await?,
        _ => None,
    };
    let mut tasks = Vec::new();
    let mut scanned = 0;
    if let Some(task) = found {
        let chain = TaskFilter {
            original_task_id: Some(task.original_task_id),
            ..TaskFilter::default()
        };
        let attempts = log.list(&chain, PageRequest::first(limit)).await?;
        scanned = attempts.items.len() as u64;
        tasks = attempts
            .items
            .into_iter()
            .filter(|t| query.matches(t))
            .collect();
    }
    Ok(Found {
        tasks,
        next: None,
        scanned,
    })
}

/// Every other search: pages of the log's own filter, each task checked.
async fn scan(
    state: &ApiState,
    query: &SearchQuery,
    mut cursor: Option<Cursor>,
    limit: u32,
) -> Result<Found, ApiError> {
    let mut tasks: Vec<Task> = Vec::new();
    let mut scanned: u64 = 0;
    loop {
        let want = if query.only_filter() {
            limit - tasks.len() as u32
        } else {
            BATCH.min(u32::try_from(SCAN_BUDGET - scanned).unwrap_or(BATCH))
        };
        let page = state
            .inspector()
            .list(
                &query.filter,
                PageRequest {
                    limit: want,
                    after: cursor,
                },
            )
            .await?;
        let more_pages = page.next.is_some();
        let count = page.items.len();
        for (i, task) in page.items.into_iter().enumerate() {
            scanned += 1;
            cursor = Some(Cursor(task.id));
            if query.matches(&task) {
                tasks.push(task);
            }
            if tasks.len() >= limit as usize || scanned >= SCAN_BUDGET {
                let more = i + 1 < count || more_pages;
                return Ok(Found {
                    tasks,
                    next: if more { cursor } else { None },
                    scanned,
                });
            }
        }
        if !more_pages || count == 0 {
            return Ok(Found {
                tasks,
                next: None,
                scanned,
            });
        }
    }
}
