//! The bodies of the dead-letter routes: [`DeadLetterView`] (one entry, its task when the
//! message decoded), [`DeadLetterList`] (a page, newest first) and [`DeadLetterParams`] (the
//! query of `GET /dead-letters`), plus the answers of requeue and purge.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use cogman::{DeadLetter, DeadLetterPage};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::task::TaskView;
use crate::error::ApiError;

/// A message moved aside because it can never run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = DeadLetter)]
pub struct DeadLetterView {
    /// The entry's id (larger is newer).
    pub id: u64,
    /// The task's id, when the message carried a readable one.
    pub task_id: Option<Uuid>,
    /// The task name, when readable.
    pub name: Option<String>,
    /// The queue it was taken from, when known.
    pub queue: Option<String>,
    /// Why it was dead-lettered.
    pub reason: String,
    /// When.
    pub dead_lettered_at: DateTime<Utc>,
    /// True when the message decoded to a task, which `requeue` can send again.
    pub requeueable: bool,
    /// The task, when the message decoded to one.
    pub task: Option<TaskView>,
    /// The message's headers as text (at most 64, 4 KiB each).
    pub headers: BTreeMap<String, String>,
    /// The message's body, standard base64 (at most 64 KiB).
    pub body_base64: String,
}

impl From<&DeadLetter> for DeadLetterView {
    fn from(dead: &DeadLetter) -> Self {
        let entry = &dead.entry;
        DeadLetterView {
            id: dead.id,
            task_id: entry.task_id.map(|id| id.as_uuid()),
            name: entry.name.clone(),
            queue: entry.queue.clone(),
            reason: entry.reason.clone(),
            dead_lettered_at: entry.dead_lettered_at,
            requeueable: entry.task.is_some(),
            task: entry.task.as_ref().map(TaskView::from),
            headers: entry.headers.clone(),
            body_base64: STANDARD.encode(&entry.body),
        }
    }
}

/// One page of dead letters, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = DeadLetterPage)]
pub struct DeadLetterList {
    /// The entries.
    pub items: Vec<DeadLetterView>,
    /// Pass as `before` for the next page; absent on the last page.
    pub next_before: Option<u64>,
}

impl From<&DeadLetterPage> for DeadLetterList {
    fn from(page: &DeadLetterPage) -> Self {
        DeadLetterList {
            items: page.items.iter().map(DeadLetterView::from).collect(),
            next_before: page.next_before,
        }
    }
}

/// Paging of `GET /dead-letters`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeadLetterParams {
    /// Only entries with an id below this (the `next_before` of the previous page).
    pub before: Option<u64>,
    /// Entries per page, 1 to 1000; default 50.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

impl DeadLetterParams {
    /// The page size.
    ///
    /// # Errors
    /// 400 when `limit` is out of range.
    pub fn limit(&self) -> Result<u32, ApiError> {
        match self.limit {
            None => Ok(super::list::DEFAULT_LIMIT),
            Some(n @ 1..=1000) => Ok(n),
            Some(n) => Err(ApiError::invalid_query(format!(
                "limit must be 1 to 1000, not {n}"
            ))),
        }
    }
}

/// The answer of `DELETE /dead-letters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PurgedDeadLetters {
    /// How many entries were deleted.
    pub purged: u64,
}
