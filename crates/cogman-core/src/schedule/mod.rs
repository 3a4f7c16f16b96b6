//! Periodic tasks: a [`Schedule`] (an id, its [`Timing`] in a time zone, the task it sends, a
//! paused flag and a [`MissedSlots`] policy), what a log stores about it ([`ScheduleRecord`],
//! with its last run), and the [`ScheduleStore`] ability through which several processes elect
//! one scheduler (a lease) and send each slot once (a claim per schedule and slot).

mod store;
mod timing;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::task::{Limits, Priority, TaskId, TaskSpec, ValidationError, validate_name};

pub use store::{LEADER_LEASE, ScheduleStore};
pub use timing::{MAX_DUE, MAX_EVERY, MIN_EVERY, MissedSlots, Timing, parse_tz};

/// Longest schedule id, in bytes.
pub const MAX_ID_BYTES: usize = 100;

/// Why a schedule was refused. Nothing is stored when this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// The id is empty, too long, or has a character outside `A-Z a-z 0-9 . _ - :`.
    #[error("invalid schedule id {0:?}: 1 to 100 characters of A-Z a-z 0-9 . _ - : are allowed")]
    InvalidId(String),
    /// The cron expression does not parse or never matches.
    #[error("invalid cron expression {expr:?}: {reason}")]
    InvalidCron {
        /// The expression (cut to 100 characters).
        expr: String,
        /// Why.
        reason: String,
    },
    /// The `every` interval is malformed or out of range.
    #[error("invalid interval: {0}")]
    InvalidEvery(String),
    /// The time zone is not an IANA name.
    #[error("unknown time zone {0:?} (expected an IANA name such as UTC or Europe/Paris)")]
    InvalidTimeZone(String),
    /// The missed-slot policy is neither `skip` nor `catch_up = N`.
    #[error("invalid missed-slot policy {0:?} (expected skip or catch_up = N)")]
    InvalidMissed(String),
    /// The task the schedule sends is refused.
    #[error("invalid task: {0}")]
    Task(#[from] ValidationError),
}

/// The task a schedule sends at each slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledTask {
    /// The handler name.
    pub name: String,
    /// The named queue to send it to (`None`: `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The payload's bytes (base64 in JSON).
    #[serde(default, with = "crate::task::base64_bytes")]
    pub payload: Vec<u8>,
    /// High or Low.
    #[serde(default)]
    pub priority: Priority,
    /// Retry budget of each sent task.
    #[serde(default)]
    pub retry: u32,
}

impl ScheduledTask {
    /// A low-priority task with this name and payload, no retries.
    pub fn new(name: impl Into<String>, payload: impl Into<Vec<u8>>) -> Self {
        ScheduledTask {
            name: name.into(),
            queue: None,
            payload: payload.into(),
            priority: Priority::Low,
            retry: 0,
        }
    }

    /// The spec sent for `slot` of schedule `id`: its primary key is `schedule:ID@SLOT`, which
    /// finds every task a schedule sent (`cogman tasks --primary-key …`).
    pub fn spec(&self, id: &str, slot: DateTime<Utc>) -> TaskSpec {
        let spec = TaskSpec::new(self.name.clone(), self.payload.clone());
        let spec = match &self.queue {
            Some(queue) => spec.queue(queue.clone()),
            None => spec,
        };
        spec.priority(self.priority)
            .retry(self.retry)
            .primary_key(slot_key(id, slot))
    }
}

/// The primary key of the task a schedule sent for a slot.
pub fn slot_key(id: &str, slot: DateTime<Utc>) -> String {
    format!(
        "schedule:{id}@{}",
        slot.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    )
}

/// A periodic task: send `task` at every slot of `timing` in `timezone`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// Its id, unique in the log.
    pub id: String,
    /// When it fires.
    pub timing: Timing,
    /// The IANA zone the cron expression is read in (default `UTC`).
    #[serde(default = "utc")]
    pub timezone: String,
    /// What it sends.
    pub task: ScheduledTask,
    /// A paused schedule sends nothing; slots passed while paused are never sent.
    #[serde(default)]
    pub paused: bool,
    /// What happens to slots missed while no process sent them.
    #[serde(default)]
    pub missed: MissedSlots,
}

fn utc() -> String {
    "UTC".to_owned()
}

impl Schedule {
    /// An unpaused schedule in UTC that skips missed slots.
    pub fn new(id: impl Into<String>, timing: Timing, task: ScheduledTask) -> Self {
        Schedule {
            id: id.into(),
            timing,
            timezone: utc(),
            task,
            paused: false,
            missed: MissedSlots::Skip,
        }
    }

    /// Checks the id, the timing, the zone and the task against `limits`.
    ///
    /// # Errors
    /// The first [`ScheduleError`] found.
    pub fn validate(&self, limits: &Limits) -> Result<(), ScheduleError> {
        validate_id(&self.id)?;
        // Re-parse: a Timing built by hand (or read back) must be one `parse` accepts.
        match &self.timing {
            Timing::Cron(expr) => drop(Timing::cron(expr)?),
            Timing::Every(d) => drop(Timing::every(*d)?),
        }
        parse_tz(&self.timezone)?;
        validate_name(&self.task.name, limits)?;
        self.task
            .spec(&self.id, Utc::now())
            .validate(limits, Utc::now())?;
        Ok(())
    }

    /// The same definition, ignoring the paused flag (what a config file may change).
    pub fn same_definition(&self, other: &Schedule) -> bool {
        Schedule {
            paused: other.paused,
            ..self.clone()
        } == *other
    }
}

/// Checks a schedule id: 1 to [`MAX_ID_BYTES`] characters of `A-Z a-z 0-9 . _ - :`.
///
/// # Errors
/// [`ScheduleError::InvalidId`].
pub fn validate_id(id: &str) -> Result<(), ScheduleError> {
    let ok = !id.is_empty()
        && id.len() <= MAX_ID_BYTES
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'));
    if ok {
        Ok(())
    } else {
        Err(ScheduleError::InvalidId(id.chars().take(64).collect()))
    }
}

/// The last slot a schedule sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    /// The slot.
    pub slot: DateTime<Utc>,
    /// When it was claimed.
    pub at: DateTime<Utc>,
    /// The task sent for it (`None` while being sent, or when the sender died in between).
    pub task_id: Option<TaskId>,
}

/// A schedule as a log stores it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleRecord {
    /// The definition (with the stored paused flag).
    pub schedule: Schedule,
    /// Slots at or before this time are never sent: when it was put or last resumed.
    pub since: DateTime<Utc>,
    /// The last slot sent.
    pub last_run: Option<LastRun>,
}

impl ScheduleRecord {
    /// The next slot to be sent after `now` (`None` when paused or the pattern has no more).
    pub fn next_run(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.schedule.paused {
            return None;
        }
        let tz = parse_tz(&self.schedule.timezone).ok()?;
        self.schedule.timing.next_after(now, tz)
    }

    /// The slot after which slots count: the later of `since` and the last slot sent.
    pub fn cursor(&self) -> DateTime<Utc> {
        self.last_run
            .as_ref()
            .map_or(self.since, |run| run.slot.max(self.since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_validated() {
        let limits = Limits::default();
        let ok = Schedule::new(
            "nightly.report",
            Timing::parse("every 1s").unwrap(),
            ScheduledTask::new("report", b"x".to_vec()),
        );
        assert_eq!(ok.validate(&limits), Ok(()));
        let mut bad = ok.clone();
        bad.id = "has space".into();
        assert!(matches!(
            bad.validate(&limits),
            Err(ScheduleError::InvalidId(_))
        ));
        let mut bad = ok.clone();
        bad.timezone = "Nowhere/City".into();
        assert!(matches!(
            bad.validate(&limits),
            Err(ScheduleError::InvalidTimeZone(_))
        ));
        let mut bad = ok.clone();
        bad.task.name = String::new();
        assert!(matches!(bad.validate(&limits), Err(ScheduleError::Task(_))));
    }

    #[test]
    fn json_round_trips() {
        let mut s = Schedule::new(
            "a",
            Timing::parse("0 */5 * * * *").unwrap(),
            ScheduledTask::new("t", b"\x00\x01".to_vec()),
        );
        s.missed = MissedSlots::CatchUp(2);
        s.timezone = "Europe/Paris".into();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<Schedule>(&json).unwrap(), s);
    }
}
