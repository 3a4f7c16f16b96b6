//! The query and answer of `GET /search`: [`SearchParams`] (the search line, cursor, page size)
//! and [`SearchPage`] (the tasks found, where to continue, how many were read).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::task::TaskView;

/// The query of `GET /search`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// The search line, e.g. `state:failed queue:images error:"timed out" payload.customer_id=42`
    /// (see docs/api.md, "Search"). Empty: every task.
    #[param(example = "state:failed created>1h")]
    pub q: Option<String>,
    /// Continue after this cursor (the `next` of the previous answer).
    pub after: Option<String>,
    /// Tasks per page, 1 to 1000; default 50.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// One page of search results, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct SearchPage {
    /// The tasks found.
    pub items: Vec<TaskView>,
    /// Pass as `after` to go on; null when the whole log was searched. A page may hold fewer
    /// than `limit` tasks (even none) and still have a `next`: each request reads at most
    /// 5,000 tasks.
    pub next: Option<String>,
    /// How many tasks this request read from the log.
    pub scanned: u64,
}
