//! Managing schedules through a [`Client`] (add or replace, pause, resume, remove) and reading
//! them through an [`Inspector`] (each with its next run). The log's [`ScheduleStore`] does the
//! storing; this checks input first and says when the log has no schedules.

use chrono::{DateTime, Utc};
use cogman_core::{Schedule, ScheduleRecord, ScheduleStore, schedule::validate_id};

use crate::client::Client;
use crate::error::Error;
use crate::inspector::Inspector;

/// A schedule as read back, with its next run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScheduleView {
    /// What the log stores.
    #[serde(flatten)]
    pub record: ScheduleRecord,
    /// The next slot after now (`None` when paused).
    pub next_run: Option<DateTime<Utc>>,
}

impl From<ScheduleRecord> for ScheduleView {
    fn from(record: ScheduleRecord) -> Self {
        ScheduleView {
            next_run: record.next_run(Utc::now()),
            record,
        }
    }
}

fn store(log: &dyn cogman_core::TaskLog) -> Result<&dyn ScheduleStore, Error> {
    log.schedule_store().ok_or(Error::SchedulesUnsupported)
}

impl Client {
    /// Adds `schedule`, or replaces the one with its id (slots of the former definition are
    /// not sent; the last run is kept).
    ///
    /// # Errors
    /// [`Error::Schedule`] for a bad schedule (nothing stored); [`Error::TaskLog`].
    pub async fn put_schedule(&self, schedule: &Schedule) -> Result<(), Error> {
        schedule.validate(self.limits())?;
        store(self.log().as_ref())?.put_schedule(schedule).await?;
        Ok(())
    }

    /// Pauses (`true`) or resumes a schedule; slots passed while paused are never sent.
    ///
    /// # Errors
    /// [`Error::ScheduleNotFound`]; [`Error::TaskLog`].
    pub async fn pause_schedule(&self, id: &str, paused: bool) -> Result<(), Error> {
        validate_id(id)?;
        if store(self.log().as_ref())?.set_paused(id, paused).await? {
            Ok(())
        } else {
            Err(Error::ScheduleNotFound(id.to_owned()))
        }
    }

    /// Removes a schedule.
    ///
    /// # Errors
    /// [`Error::ScheduleNotFound`]; [`Error::TaskLog`].
    pub async fn remove_schedule(&self, id: &str) -> Result<(), Error> {
        validate_id(id)?;
        if store(self.log().as_ref())?.remove_schedule(id).await? {
            Ok(())
        } else {
            Err(Error::ScheduleNotFound(id.to_owned()))
        }
    }
}

impl Inspector {
    /// Every schedule, by id, with its next run.
    ///
    /// # Errors
    /// [`Error::SchedulesUnsupported`]; [`Error::TaskLog`].
    pub async fn schedules(&self) -> Result<Vec<ScheduleView>, Error> {
        let records = store(self.log().as_ref())?.schedules().await?;
        Ok(records.into_iter().map(ScheduleView::from).collect())
    }

    /// One schedule with its next run.
    ///
    /// # Errors
    /// [`Error::ScheduleNotFound`]; [`Error::TaskLog`].
    pub async fn schedule(&self, id: &str) -> Result<ScheduleView, Error> {
        validate_id(id)?;
        store(self.log().as_ref())?
            .schedule(id)
            .await?
            .map(ScheduleView::from)
            .ok_or_else(|| Error::ScheduleNotFound(id.to_owned()))
    }

    /// The process that sends schedules now (the lease holder) and when its lease runs out.
    ///
    /// # Errors
    /// [`Error::SchedulesUnsupported`]; [`Error::TaskLog`].
    pub async fn scheduler_leader(&self) -> Result<Option<(String, DateTime<Utc>)>, Error> {
        Ok(store(self.log().as_ref())?
            .lease_holder(cogman_core::schedule::LEADER_LEASE)
            .await?)
    }
}
