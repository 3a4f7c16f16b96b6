//! The body and answer of `POST /tasks/bulk`: [`BulkRequest`] (an action on listed ids or on
//! what a search line matches) and [`BulkResponse`] (how many matched, were acted on, and why
//! the others were skipped).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// What a bulk request does to each task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum BulkAction {
    /// A new attempt of each finished task whose newest attempt this is.
    Retry,
    /// Cancel each task that has not finished.
    Cancel,
}

/// `POST /tasks/bulk`: `ids` or `q`, not both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// What to do.
    pub action: BulkAction,
    /// These tasks (at most 1000).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ids: Vec<Uuid>,
    /// Or every task this search line matches (see `GET /search`; `""` is every task), at most
    /// `limit` of them per request: follow `next`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// With `q`: go on after this cursor (the `next` of the previous answer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    /// With `q`: most tasks matched per request, 1 to 1000; default 1000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// With `retry`: the retry budget of each new attempt; default 0, at most 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(maximum = 100)]
    pub retry: Option<u32>,
    /// Count what would be done, change nothing.
    #[serde(default)]
    pub dry_run: bool,
}

/// A task left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BulkSkip {
    /// The task (attempt) id.
    pub id: Uuid,
    /// Why it was left alone.
    pub reason: String,
}

/// The answer of `POST /tasks/bulk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BulkResponse {
    /// The action.
    pub action: BulkAction,
    /// True when nothing was changed (`acted` is what would have been done).
    pub dry_run: bool,
    /// Attempts selected (listed ids, or search matches in this request).
    pub matched: u64,
    /// Tasks retried or cancelled (one per chain of attempts).
    pub acted: u64,
    /// The tasks left alone: not in a state for the action, or another attempt of the same task.
    pub skipped: Vec<BulkSkip>,
    /// With `q`: more tasks may match; pass as `after` to go on. Null when the log was searched
    /// to its end.
    pub next: Option<String>,
}
