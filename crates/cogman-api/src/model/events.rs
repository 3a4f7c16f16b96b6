//! What `GET /events` pushes, as JSON in each server-sent event's `data`: [`LiveCounts`]
//! (event `counts`: attempts per state in the whole log) and [`LiveTask`] (event `task`: one
//! attempt that appeared or changed state).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cogman::{StatusCounts, Task, TaskState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::names::StatusName;

/// Event `counts`: every attempt in the task log, per current state. Sent when a stream opens
/// and whenever a number changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LiveCounts {
    /// When the log was read.
    pub at: DateTime<Utc>,
    /// Attempts (task records) in the log; a task retried twice counts three.
    pub attempts: u64,
    /// Attempts per state; every state is present.
    pub states: BTreeMap<String, u64>,
}

impl LiveCounts {
    /// The numbers of `counts`, read at `at`.
    pub fn new(at: DateTime<Utc>, counts: &StatusCounts) -> Self {
        LiveCounts {
            at,
            attempts: counts.total(),
            states: TaskState::ALL
                .iter()
                .map(|s| (s.as_str().to_owned(), counts.get(*s)))
                .collect(),
        }
    }
}

/// Event `task`: an attempt that is new or changed state since the last look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LiveTask {
    /// The attempt's id.
    pub id: uuid::Uuid,
    /// The first attempt's id (the task, as a chain of attempts).
    pub original_task_id: uuid::Uuid,
    /// Its attempt number: 0 for the first run, 1 for the first retry.
    pub attempt: u32,
    /// Task name.
    pub name: String,
    /// The named queue it runs on.
    pub queue: String,
    /// Its state now.
    pub status: StatusName,
    /// When the state was last changed.
    pub updated_at: DateTime<Utc>,
}

impl From<&Task> for LiveTask {
    fn from(task: &Task) -> Self {
        LiveTask {
            id: task.id.as_uuid(),
            original_task_id: task.original_task_id.as_uuid(),
            attempt: task.attempt,
            name: task.name.clone(),
            queue: task.queue.clone(),
            status: StatusName(task.status),
            updated_at: task.updated_at,
        }
    }
}
