//! [`ScheduleConfig`]: a schedule as written in a config file (`[[schedule]]` tables), and its
//! conversion to a [`Schedule`].
//!
//! ```toml
//! [[schedule]]
//! id = "nightly-report"
//! cron = "0 0 3 * * *"          # or: every = "30s"
//! timezone = "Europe/Paris"     # default UTC
//! task = "report.build"
//! payload = '{"kind":"daily"}'
//! priority = "High"
//! retry = 2
//! missed = "catch_up = 3"       # default skip
//! ```

use cogman_core::{MissedSlots, Priority, Schedule, ScheduleError, ScheduledTask, Timing};
use serde::{Deserialize, Serialize};

/// One `[[schedule]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    /// The schedule's id.
    pub id: String,
    /// A six-field cron expression (seconds first); exactly one of `cron` and `every`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// An interval (`30s`, `1h 30m`); exactly one of `cron` and `every`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<String>,
    /// The IANA zone of the cron expression. Default `UTC`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The task name to send.
    pub task: String,
    /// The queue to send it to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The payload, as text.
    #[serde(default)]
    pub payload: String,
    /// `High` or `Low` (default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<String>,
    /// Retry budget of each sent task.
    #[serde(default)]
    pub retry: u32,
    /// Start paused.
    #[serde(default)]
    pub paused: bool,
    /// `skip` (default) or `catch_up = N`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed: Option<String>,
}

impl ScheduleConfig {
    /// The schedule this table defines (not yet checked against limits: see
    /// [`Schedule::validate`]).
    ///
    /// # Errors
    /// A [`ScheduleError`] for a bad timing, policy or priority.
    pub fn to_schedule(&self) -> Result<Schedule, ScheduleError> {
        let timing = match (&self.cron, &self.every) {
            (Some(cron), None) => Timing::cron(cron)?,
            (None, Some(every)) => Timing::parse(&format!("every {every}"))?,
            _ => {
                return Err(ScheduleError::InvalidEvery(format!(
                    "schedule {:?}: give exactly one of cron and every",
                    self.id
                )));
            }
        };
        let priority = match &self.priority {
            Some(p) => p.parse::<Priority>()?,
            None => Priority::Low,
        };
        let missed = match &self.missed {
            Some(m) => m.parse::<MissedSlots>()?,
            None => MissedSlots::Skip,
        };
        Ok(Schedule {
            id: self.id.clone(),
            timing,
            timezone: self.timezone.clone().unwrap_or_else(|| "UTC".to_owned()),
            task: ScheduledTask {
                name: self.task.clone(),
                queue: self.queue.clone(),
                payload: self.payload.clone().into_bytes(),
                priority,
                retry: self.retry,
            },
            paused: self.paused,
            missed,
        })
    }
}
