//! The latest attempt of a task: a failed attempt with retries left is followed by a new task
//! (new id, same `original_task_id`), so a member's fate is that of its newest attempt.

use cogman_core::{PageRequest, Task, TaskFilter, TaskId, TaskLog, TaskLogError};

/// The newest attempt of the task first sent as `root` (the first attempt itself when it was
/// never retried); `None` when no attempt is recorded.
pub(crate) async fn latest(log: &dyn TaskLog, root: TaskId) -> Result<Option<Task>, TaskLogError> {
    let filter = TaskFilter {
        original_task_id: Some(root),
        ..TaskFilter::default()
    };
    let page = log.list(&filter, PageRequest::first(1)).await?;
    Ok(page.items.into_iter().next())
}
