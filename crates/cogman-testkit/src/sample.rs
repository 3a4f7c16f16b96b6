//! Sample tasks for the suites: every field can be set, payloads hold awkward bytes (0x00,
//! 0xFF), and timestamps are truncated to milliseconds so backends that store milliseconds or
//! microseconds round-trip them exactly.

use chrono::{DateTime, TimeDelta, Utc};
use cogman_core::workflow::{NextStep, WorkflowKind};
use cogman_core::{Priority, Task, TaskId, TaskSpec, WorkflowLink};

/// A payload with bytes that break naive text handling.
pub const AWKWARD_PAYLOAD: &[u8] = &[0x00, 0xFF, b'{', 0x00, 0x7F, 0x80, 0xFE, 0xFF, b'\n'];

/// `at` truncated to whole milliseconds.
pub fn truncate_ms(at: DateTime<Utc>) -> DateTime<Utc> {
    let ms = at.timestamp_millis();
    DateTime::from_timestamp_millis(ms).unwrap_or(at)
}

/// The current time, truncated to whole milliseconds.
pub fn now_ms() -> DateTime<Utc> {
    truncate_ms(Utc::now())
}

/// `at` plus `ms` milliseconds (saturating).
pub fn plus_ms(at: DateTime<Utc>, ms: i64) -> DateTime<Utc> {
    at.checked_add_signed(TimeDelta::milliseconds(ms))
        .unwrap_or(at)
}

/// A plain first attempt named `name`, in state `initiated`, created now, with an awkward
/// payload and no optional fields.
pub fn task(name: &str) -> Task {
    Task::from_spec(TaskSpec::new(name, AWKWARD_PAYLOAD), now_ms())
}

/// A task with every optional field set: primary key, run time, timeout, workflow link,
/// high priority and a retry budget.
pub fn rich_task(name: &str) -> Task {
    let mut task = task(name);
    let now = task.created_at;
    task.priority = Priority::High;
    task.queue = "rich.queue-1".to_owned();
    task.retry = 3;
    task.primary_key = Some("order-42 ✓".to_owned());
    task.run_at = Some(plus_ms(now, 1500));
    task.timeout_ms = Some(7_000);
    task.workflow = Some(WorkflowLink {
        workflow_id: TaskId::new(),
        kind: WorkflowKind::Chain,
        size: 2,
        then: vec![NextStep {
            name: "step.two".to_owned(),
            queue: "step.queue".to_owned(),
            priority: Priority::Low,
            retry: 1,
            timeout_ms: Some(250),
            primary_key: None,
            delay_ms: None,
        }],
        index: Some(0),
        callback_id: None,
    });
    task
}

/// A task named `name` created at `created_at` (for filters and counts).
pub fn task_created_at(name: &str, created_at: DateTime<Utc>) -> Task {
    let mut task = task(name);
    task.created_at = truncate_ms(created_at);
    task.updated_at = task.created_at;
    task
}
