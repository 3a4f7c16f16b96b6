//! The [`ScheduleStore`] ability of a task log: schedules stored where the tasks are, the
//! scheduler's leader lease, and the claim of each slot — the two atomic operations that let
//! any number of processes run the scheduler while exactly one sends each slot.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Schedule, ScheduleRecord};
use crate::task::TaskId;
use crate::task_log::TaskLogError;

/// The name of the scheduler's lease.
pub const LEADER_LEASE: &str = "scheduler";

/// Stores schedules, elects the scheduler and claims slots (optional ability of a task log).
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// Stores `schedule`, replacing one with its id; `since` becomes now, so slots of a former
    /// definition are not sent. The last run is kept.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn put_schedule(&self, schedule: &Schedule) -> Result<(), TaskLogError>;

    /// The schedule with this id.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`]; [`TaskLogError::Corrupt`] for an unreadable record.
    async fn schedule(&self, id: &str) -> Result<Option<ScheduleRecord>, TaskLogError>;

    /// Every schedule, by id.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`]; [`TaskLogError::Corrupt`] for an unreadable record.
    async fn schedules(&self) -> Result<Vec<ScheduleRecord>, TaskLogError>;

    /// Pauses or resumes; resuming sets `since` to now (slots passed while paused are never
    /// sent). False when there is no such schedule.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`].
    async fn set_paused(&self, id: &str, paused: bool) -> Result<bool, TaskLogError>;

    /// Removes a schedule and its claims; false when there was none.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`].
    async fn remove_schedule(&self, id: &str) -> Result<bool, TaskLogError>;

    /// Takes or renews the lease `name` for `holder` for `ttl`, atomically: true when `holder`
    /// holds it now (it was free, expired, or already its own), false when another holder's
    /// lease runs.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`].
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, TaskLogError>;

    /// Gives the lease up if `holder` holds it (a clean stop), so another process takes over
    /// at once.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`].
    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), TaskLogError>;

    /// The holder of the lease `name` and when it runs out, if it runs.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`].
    async fn lease_holder(
        &self,
        name: &str,
    ) -> Result<Option<(String, DateTime<Utc>)>, TaskLogError>;

    /// Claims `slot` of schedule `id`, atomically and once: true for the first caller, false
    /// for every later one (whoever they are). The first claim also makes `slot` the
    /// schedule's last run (with no task yet). Called BEFORE the task is sent.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`].
    async fn claim_slot(&self, id: &str, slot: DateTime<Utc>) -> Result<bool, TaskLogError>;

    /// Records the task sent for a claimed slot (shown as the last run's task).
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`].
    async fn record_slot_task(
        &self,
        id: &str,
        slot: DateTime<Utc>,
        task_id: TaskId,
    ) -> Result<(), TaskLogError>;
}
