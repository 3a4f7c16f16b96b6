//! The [`ScheduleStore`] ability of [`MemoryLog`]: schedules, slot claims and leases in its
//! state, each call under the one lock (so each is atomic, as the contract asks).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeDelta, Utc};
use cogman_core::{LastRun, Schedule, ScheduleRecord, ScheduleStore, TaskId, TaskLogError};

use super::MemoryLog;

/// What the log stores about schedules.
#[derive(Debug, Default)]
pub(super) struct Schedules {
    records: BTreeMap<String, ScheduleRecord>,
    claims: HashSet<(String, DateTime<Utc>)>,
    leases: HashMap<String, (String, DateTime<Utc>)>,
}

#[async_trait]
impl ScheduleStore for MemoryLog {
    async fn put_schedule(&self, schedule: &Schedule) -> Result<(), TaskLogError> {
        let mut state = self.state();
        let records = &mut state.schedules.records;
        let last_run = records.get(&schedule.id).and_then(|r| r.last_run.clone());
        records.insert(
            schedule.id.clone(),
            ScheduleRecord {
                schedule: schedule.clone(),
                since: Utc::now(),
                last_run,
            },
        );
        Ok(())
    }

    async fn schedule(&self, id: &str) -> Result<Option<ScheduleRecord>, TaskLogError> {
        Ok(self.state().schedules.records.get(id).cloned())
    }

    async fn schedules(&self) -> Result<Vec<ScheduleRecord>, TaskLogError> {
        Ok(self.state().schedules.records.values().cloned().collect())
    }

    async fn set_paused(&self, id: &str, paused: bool) -> Result<bool, TaskLogError> {
        let mut state = self.state();
        let Some(record) = state.schedules.records.get_mut(id) else {
            return Ok(false);
        };
        if record.schedule.paused && !paused {
            record.since = Utc::now();
        }
        record.schedule.paused = paused;
        Ok(true)
    }

    async fn remove_schedule(&self, id: &str) -> Result<bool, TaskLogError> {
        let mut state = self.state();
        state.schedules.claims.retain(|(s, _)| s != id);
        Ok(state.schedules.records.remove(id).is_some())
    }

    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
    ) -> Result<bool, TaskLogError> {
        let mut state = self.state();
        let now = Utc::now();
        let free = state
            .schedules
            .leases
            .get(name)
            .is_none_or(|(h, until)| h == holder || *until <= now);
        if free {
            let until = now + TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX);
            state
                .schedules
                .leases
                .insert(name.to_owned(), (holder.to_owned(), until));
        }
        Ok(free)
    }

    async fn release_lease(&self, name: &str, holder: &str) -> Result<(), TaskLogError> {
        let mut state = self.state();
        if state
            .schedules
            .leases
            .get(name)
            .is_some_and(|(h, _)| h == holder)
        {
            state.schedules.leases.remove(name);
        }
        Ok(())
    }

    async fn lease_holder(
        &self,
        name: &str,
    ) -> Result<Option<(String, DateTime<Utc>)>, TaskLogError> {
        let now = Utc::now();
        Ok(self
            .state()
            .schedules
            .leases
            .get(name)
            .filter(|(_, until)| *until > now)
            .cloned())
    }

    async fn claim_slot(&self, id: &str, slot: DateTime<Utc>) -> Result<bool, TaskLogError> {
        let mut state = self.state();
        if !state.schedules.claims.insert((id.to_owned(), slot)) {
            return Ok(false);
        }
        if let Some(record) = state.schedules.records.get_mut(id)
            && record.last_run.as_ref().is_none_or(|run| run.slot < slot)
        {
            record.last_run = Some(LastRun {
                slot,
                at: Utc::now(),
                task_id: None,
            });
        }
        Ok(true)
    }

    async fn record_slot_task(
        &self,
        id: &str,
        slot: DateTime<Utc>,
        task_id: TaskId,
    ) -> Result<(), TaskLogError> {
        let mut state = self.state();
        if let Some(run) = state
            .schedules
            .records
            .get_mut(id)
            .and_then(|r| r.last_run.as_mut())
            .filter(|run| run.slot == slot)
        {
            run.task_id = Some(task_id);
        }
        Ok(())
    }
}
