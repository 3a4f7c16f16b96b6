//! The bodies of the schedule routes: [`ScheduleRequest`] (add or replace a schedule, checked
//! and turned into a [`Schedule`] before anything is stored), [`ScheduleBody`] (a schedule with
//! its next and last runs) and [`ScheduleList`] (every schedule and the scheduler's leader).

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use cogman::{MissedSlots, Priority, Schedule, ScheduleView, ScheduledTask, Timing};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::names::PriorityName;
use super::send::payload_bytes;
use crate::error::ApiError;

/// A schedule to add, or to replace the one with its id. Give `cron` or `every`, not both;
/// the payload as JSON (`payload`) or bytes (`payload_base64`), not both.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    /// The schedule's id: 1 to 100 characters of `A-Z a-z 0-9 . _ - :`.
    #[schema(example = "nightly", pattern = r"^[A-Za-z0-9._:-]{1,100}$")]
    pub id: String,
    /// A six-field cron expression, seconds first (`0 0 3 * * *`). Not with `every`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "0 0 3 * * *")]
    pub cron: Option<String>,
    /// A fixed interval (`30s`, `1h 30m`), 1 s to 366 days. Not with `cron`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "30s")]
    pub every: Option<String>,
    /// The IANA zone the cron expression is read in; default `UTC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "Europe/Paris")]
    pub timezone: Option<String>,
    /// The handler name of the task sent at each slot.
    #[schema(example = "report.build", min_length = 1, max_length = 200)]
    pub task: String,
    /// The named queue of the task; default `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9_.-]+$")]
    pub queue: Option<String>,
    /// The payload as JSON; the handler receives its JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
    /// The payload as standard base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(format = Byte)]
    pub payload_base64: Option<String>,
    /// High or Low (any case); default Low.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<PriorityName>)]
    pub priority: Option<String>,
    /// Retries of each sent task; default 0, at most 100.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(maximum = 100)]
    pub retry: Option<u32>,
    /// Slots missed while no process ran: `skip` (default) or `catch_up=N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "catch_up=1")]
    pub missed: Option<String>,
    /// Store it paused; default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::InvalidField(message.into())
}

impl ScheduleRequest {
    /// The schedule this request describes. The id, timing, zone and task limits are checked
    /// again by the client; this checks what only the API knows.
    ///
    /// # Errors
    /// [`ApiError::InvalidField`].
    pub fn into_schedule(self) -> Result<Schedule, ApiError> {
        let timing = match (self.cron, self.every) {
            (Some(expr), None) => Timing::cron(&expr),
            (None, Some(every)) => Timing::parse(&format!("every {every}")),
            _ => return Err(invalid("give cron or every, exactly one of them")),
        }
        .map_err(|e| invalid(e.to_string()))?;
        let payload = payload_bytes(self.payload, self.payload_base64)?;
        let mut task = ScheduledTask::new(self.task, payload);
        task.queue = self.queue;
        task.retry = self.retry.unwrap_or(0);
        if let Some(priority) = self.priority {
            task.priority = priority
                .parse::<Priority>()
                .map_err(|e| invalid(e.to_string()))?;
        }
        let mut schedule = Schedule::new(self.id, timing, task);
        if let Some(zone) = self.timezone {
            schedule.timezone = zone;
        }
        if let Some(missed) = self.missed {
            schedule.missed = missed
                .parse::<MissedSlots>()
                .map_err(|e| invalid(e.to_string()))?;
        }
        schedule.paused = self.paused.unwrap_or(false);
        Ok(schedule)
    }
}

/// The last slot a schedule sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LastRunView {
    /// The slot.
    pub slot: DateTime<Utc>,
    /// When it was claimed.
    pub at: DateTime<Utc>,
    /// The task sent for it; null while being sent, or when its sender died in between.
    pub task_id: Option<Uuid>,
}

/// A schedule, with its next and last runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = Schedule)]
pub struct ScheduleBody {
    /// Its id.
    pub id: String,
    /// The cron expression; null for an `every` schedule.
    pub cron: Option<String>,
    /// The interval (`30s`, `1h 30m`); null for a cron schedule.
    pub every: Option<String>,
    /// The IANA zone of the cron expression.
    pub timezone: String,
    /// The handler name of the task it sends.
    pub task: String,
    /// The named queue of the task.
    pub queue: String,
    /// The task's payload, standard base64.
    pub payload_base64: String,
    /// The task's priority.
    pub priority: PriorityName,
    /// Retries of each sent task.
    pub retry: u32,
    /// `skip` or `catch_up = N`.
    pub missed: String,
    /// A paused schedule sends nothing.
    pub paused: bool,
    /// Slots at or before this time are never sent (when it was added, replaced or resumed).
    pub since: DateTime<Utc>,
    /// The next slot; null when paused.
    pub next_run: Option<DateTime<Utc>>,
    /// The last slot sent; null before the first.
    pub last_run: Option<LastRunView>,
}

impl From<&ScheduleView> for ScheduleBody {
    fn from(view: &ScheduleView) -> Self {
        let schedule = &view.record.schedule;
        let (cron, every) = match &schedule.timing {
            Timing::Cron(expr) => (Some(expr.clone()), None),
            Timing::Every(d) => (None, Some(every_text(*d))),
        };
        let task = &schedule.task;
        ScheduleBody {
            id: schedule.id.clone(),
            cron,
            every,
            timezone: schedule.timezone.clone(),
            task: task.name.clone(),
            queue: task
                .queue
                .clone()
                .unwrap_or_else(|| cogman::DEFAULT_QUEUE.to_owned()),
            payload_base64: STANDARD.encode(&task.payload),
            priority: PriorityName(task.priority),
            retry: task.retry,
            missed: schedule.missed.to_string(),
            paused: schedule.paused,
            since: view.record.since,
            next_run: view.next_run,
            last_run: view.record.last_run.as_ref().map(|run| LastRunView {
                slot: run.slot,
                at: run.at,
                task_id: run.task_id.map(|id| id.as_uuid()),
            }),
        }
    }
}

fn every_text(every: Duration) -> String {
    humantime::format_duration(every).to_string()
}

/// The process that sends schedules now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SchedulerLeader {
    /// Its name in the lease (host and process).
    pub holder: String,
    /// When its lease runs out unless renewed.
    pub until: DateTime<Utc>,
}

/// Every schedule, by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ScheduleList {
    /// The schedules.
    pub items: Vec<ScheduleBody>,
    /// The scheduler's leader; null when no process leads now.
    pub leader: Option<SchedulerLeader>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ScheduleRequest {
        ScheduleRequest {
            id: "s".into(),
            every: Some("30s".into()),
            task: "t".into(),
            ..ScheduleRequest::default()
        }
    }

    #[test]
    fn a_request_becomes_a_schedule() {
        let schedule = ScheduleRequest {
            payload: Some(serde_json::json!({"a": 1})),
            priority: Some("high".into()),
            missed: Some("catch_up=2".into()),
            timezone: Some("Europe/Paris".into()),
            ..request()
        }
        .into_schedule()
        .expect("valid");
        assert_eq!(schedule.timing, Timing::Every(Duration::from_secs(30)));
        assert_eq!(schedule.task.payload, b"{\"a\":1}");
        assert_eq!(schedule.task.priority, Priority::High);
        assert_eq!(schedule.missed, MissedSlots::CatchUp(2));
        assert_eq!(schedule.timezone, "Europe/Paris");
    }

    #[test]
    fn contradictions_and_bad_values_are_invalid_fields() {
        let cases = [
            ScheduleRequest {
                cron: Some("0 * * * * *".into()),
                ..request()
            },
            ScheduleRequest {
                every: None,
                ..request()
            },
            ScheduleRequest {
                every: Some("soon".into()),
                ..request()
            },
            ScheduleRequest {
                every: None,
                cron: Some("* * * * *".into()),
                ..request()
            },
            ScheduleRequest {
                missed: Some("later".into()),
                ..request()
            },
            ScheduleRequest {
                priority: Some("urgent".into()),
                ..request()
            },
        ];
        for case in cases {
            let error = case.clone().into_schedule().expect_err("invalid");
            assert_eq!(error.code(), "invalid_field", "{case:?}");
        }
    }
}
