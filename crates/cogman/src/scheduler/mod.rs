//! [`Scheduler`]: sends the tasks of periodic [`Schedule`]s. Every worker and `cogman serve`
//! runs one; exactly one process sends each slot:
//!
//! - **a leader, by lease**: each loop takes or renews the log's `scheduler` lease
//!   ([`ScheduleStore::try_lease`]) for `lease`; only its holder sends. A holder that dies
//!   stops renewing, so another process takes over at most `lease` (plus its poll interval,
//!   a quarter of the lease) later. A clean stop releases the lease at once.
//! - **a claim per slot**: before sending a slot, the leader claims (schedule, slot) in the
//!   log ([`ScheduleStore::claim_slot`]), which only the first caller wins — two processes that
//!   both believe they lead (a paused process whose lease ran out) still send a slot once.
//!
//! A slot is on time for twice the lease after it passed (so a failover misses none); older
//! slots are missed and follow the schedule's [`MissedSlots`](cogman_core::MissedSlots)
//! policy. A sender that dies between the claim and the task's durable record loses that slot
//! (at most once per slot, never twice).
//!
//! - [`config`]: `[[schedule]]` tables of a config file.
//! - [`admin`]: add, pause, resume, remove through a [`Client`], list through an
//!   [`Inspector`](crate::Inspector).

pub mod admin;
pub mod config;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use cogman_core::schedule::{LEADER_LEASE, parse_tz};
use cogman_core::{Schedule, ScheduleRecord, ScheduleStore};
use tokio_util::sync::CancellationToken;

use crate::client::Client;

pub use admin::ScheduleView;
pub use config::ScheduleConfig;

/// How the scheduler runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchedulerOptions {
    /// The leader's lease: renewed every loop, taken over by another process this long after
    /// its holder died. Default 15 s.
    pub lease: Duration,
    /// Schedules of the config file, stored at start (a changed definition replaces the
    /// stored one; the paused flag set at run time is kept).
    pub schedules: Vec<Schedule>,
}

impl Default for SchedulerOptions {
    fn default() -> Self {
        SchedulerOptions {
            lease: Duration::from_secs(15),
            schedules: Vec::new(),
        }
    }
}

/// Longest sleep of the leader between two looks at the schedules (a schedule added at run
/// time is picked up this fast).
const MAX_TICK: Duration = Duration::from_secs(1);

struct Inner {
    client: Client,
    options: SchedulerOptions,
    holder: String,
    leading: AtomicBool,
    started: AtomicBool,
    sent: AtomicU64,
    stop: CancellationToken,
}

/// The scheduler loop of one process. Cheap to clone; runs until [`Scheduler::stop`].
#[derive(Clone)]
pub struct Scheduler {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("holder", &self.inner.holder)
            .field("leading", &self.is_leader())
            .field("sent", &self.sent())
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    /// A scheduler sending through `client`, named `holder` in the lease (unique per process),
    /// not started yet.
    pub fn new(client: Client, holder: impl Into<String>, options: SchedulerOptions) -> Self {
        Scheduler {
            inner: Arc::new(Inner {
                client,
                options,
                holder: holder.into(),
                leading: AtomicBool::new(false),
                started: AtomicBool::new(false),
                sent: AtomicU64::new(0),
                stop: CancellationToken::new(),
            }),
        }
    }

    /// Starts the loop in the background (once; not after [`Scheduler::stop`]). A log without
    /// schedules makes it end at once (logged when the config defines some).
    pub fn start(&self) {
        if self.inner.stop.is_cancelled() || self.inner.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let inner = Arc::clone(&self.inner);
        tokio::spawn(async move { inner.run().await });
    }

    /// Stops the loop and gives the lease up, so another process leads at once.
    pub async fn stop(&self) {
        self.inner.stop.cancel();
        if self.inner.leading.swap(false, Ordering::SeqCst)
            && let Some(store) = self.inner.client.log().schedule_store()
            && let Err(error) = store.release_lease(LEADER_LEASE, &self.inner.holder).await
        {
            tracing::warn!(%error, "releasing the scheduler lease");
        }
    }

    /// True while this process holds the lease.
    pub fn is_leader(&self) -> bool {
        self.inner.leading.load(Ordering::Relaxed)
    }

    /// Slots this process has sent.
    pub fn sent(&self) -> u64 {
        self.inner.sent.load(Ordering::Relaxed)
    }

    /// Its name in the lease.
    pub fn holder(&self) -> &str {
        &self.inner.holder
    }
}

impl Inner {
    async fn run(self: Arc<Self>) {
        let log = Arc::clone(self.client.log());
        let Some(store) = log.schedule_store() else {
            if !self.options.schedules.is_empty() {
                tracing::error!(
                    "the task log keeps no schedules: the config's schedules never run"
                );
            }
            return;
        };
        while !self.stop.is_cancelled() {
            match self.store_configured(store).await {
                Ok(()) => break,
                Err(error) => tracing::warn!(%error, "storing the config's schedules; retrying"),
            }
            self.pause(self.options.lease / 4).await;
        }
        while !self.stop.is_cancelled() {
            let leading = match store
                .try_lease(LEADER_LEASE, &self.holder, self.options.lease)
                .await
            {
                Ok(leading) => leading,
                Err(error) => {
                    tracing::warn!(%error, "taking the scheduler lease");
                    false
                }
            };
            if self.leading.swap(leading, Ordering::SeqCst) != leading {
                tracing::info!(holder = %self.holder, leading, "scheduler leadership changed");
            }
            let wait = if leading && !self.stop.is_cancelled() {
                let next = self.send_due(store).await;
                let until_next = next
                    .and_then(|at| (at - Utc::now()).to_std().ok())
                    .unwrap_or(MAX_TICK);
                until_next.min(MAX_TICK).min(self.options.lease / 3)
            } else {
                self.options.lease / 4
            };
            self.pause(wait.max(Duration::from_millis(10))).await;
        }
    }

    async fn pause(&self, wait: Duration) {
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = self.stop.cancelled() => {}
        }
    }

    /// Stores each configured schedule whose definition is new or changed.
    async fn store_configured(
        &self,
        store: &dyn ScheduleStore,
    ) -> Result<(), cogman_core::TaskLogError> {
        for schedule in &self.options.schedules {
            let stored = store.schedule(&schedule.id).await?;
            if stored
                .as_ref()
                .is_some_and(|r| r.schedule.same_definition(schedule))
            {
                continue;
            }
            let mut schedule = schedule.clone();
            if let Some(stored) = stored {
                schedule.paused = stored.schedule.paused;
            }
            store.put_schedule(&schedule).await?;
        }
        Ok(())
    }

    /// Sends every due slot of every schedule; returns the earliest next slot.
    async fn send_due(&self, store: &dyn ScheduleStore) -> Option<DateTime<Utc>> {
        let records = match store.schedules().await {
            Ok(records) => records,
            Err(error) => {
                tracing::warn!(%error, "reading the schedules");
                return None;
            }
        };
        let mut next: Option<DateTime<Utc>> = None;
        for record in records {
            if self.stop.is_cancelled() {
                break;
            }
            if record.schedule.paused {
                continue;
            }
            self.send_schedule(store, &record).await;
            if let Some(at) = record.next_run(Utc::now()) {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        }
        next
    }

    async fn send_schedule(&self, store: &dyn ScheduleStore, record: &ScheduleRecord) {
        let schedule = &record.schedule;
        let Ok(tz) = parse_tz(&schedule.timezone) else {
            tracing::warn!(id = %schedule.id, "schedule has an unknown time zone; skipped");
            return;
        };
        let now = Utc::now();
        let slots = schedule.timing.due_slots(
            tz,
            record.cursor(),
            now,
            self.options.lease * 2,
            schedule.missed,
        );
        for slot in slots {
            match store.claim_slot(&schedule.id, slot).await {
                Ok(true) => {}
                Ok(false) => continue,
                Err(error) => {
                    tracing::warn!(id = %schedule.id, %slot, %error, "claiming a slot");
                    return;
                }
            }
            let spec = schedule.task.spec(&schedule.id, slot);
            match self.client.send_task(spec).await {
                Ok(receipt) => {
                    self.sent.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(id = %schedule.id, %slot, task = %receipt.id, "slot sent");
                    if let Err(error) = store.record_slot_task(&schedule.id, slot, receipt.id).await
                    {
                        tracing::warn!(id = %schedule.id, %slot, %error, "recording a slot's task");
                    }
                }
                Err(error) => {
                    tracing::error!(id = %schedule.id, %slot, %error, "sending a slot's task; the slot is lost");
                }
            }
        }
    }
}
