//! The live feed behind `GET /events`: while at least one client listens, one watcher per API
//! process reads the task log every [`events_interval`](crate::ApiOptions::events_interval)
//! (the totals per state and the newest attempts) and broadcasts what changed since its last
//! look. Reading the log, not hooking the in-process worker, is what makes the feed see the
//! work of every process that shares the log. The watcher stops when the last listener goes,
//! and every stream ends when the server stops ([`EventHub::close`]).

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use cogman::{Inspector, PageRequest, StatusCounts, TaskFilter, TaskId, TaskState};
use tokio::sync::{broadcast, watch};
use tokio::time::MissedTickBehavior;

use crate::model::{LiveCounts, LiveTask};

/// How many of the newest attempts each look compares; older ones that change show in the
/// counts only.
const WINDOW: u32 = 200;

/// Events a listener may fall behind by before it is told to reload (event `resync`).
const CAPACITY: usize = 1024;

/// One change the feed reports.
#[derive(Debug, Clone)]
pub(crate) enum LiveEvent {
    /// The totals per state changed.
    Counts(LiveCounts),
    /// An attempt appeared or changed state.
    Task(LiveTask),
}

/// The feed: a broadcast channel and the watcher that fills it while someone listens.
#[derive(Debug, Clone)]
pub(crate) struct EventHub {
    interval: Duration,
    sender: Arc<Mutex<Option<broadcast::Sender<LiveEvent>>>>,
    closed: Arc<watch::Sender<bool>>,
}

impl EventHub {
    pub(crate) fn new(interval: Duration) -> Self {
        EventHub {
            interval: interval.max(Duration::from_millis(10)),
            sender: Arc::new(Mutex::new(None)),
            closed: Arc::new(watch::Sender::new(false)),
        }
    }

    /// A receiver of every later event; starts the watcher when none runs.
    pub(crate) fn subscribe(&self, inspector: &Inspector) -> broadcast::Receiver<LiveEvent> {
        let mut slot = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(sender) = slot.as_ref() {
            return sender.subscribe();
        }
        let (sender, receiver) = broadcast::channel(CAPACITY);
        *slot = Some(sender.clone());
        tokio::spawn(watch_log(self.clone(), inspector.clone(), sender));
        receiver
    }

    /// Ends every stream and the watcher (the server is stopping).
    pub(crate) fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Resolves once [`EventHub::close`] was called.
    pub(crate) fn closed(&self) -> impl Future<Output = ()> + Send + 'static + use<> {
        let mut closed = self.closed.subscribe();
        async move {
            // An error means the hub is gone, which ends the streams as well.
            let _ = closed.wait_for(|closed| *closed).await;
        }
    }

    /// Forgets `sender` when nobody listens any more; true when it did (the watcher stops).
    /// Under the lock, so a subscriber either joins this watcher or starts the next one.
    fn release_if_unheard(&self, sender: &broadcast::Sender<LiveEvent>) -> bool {
        let mut slot = self.sender.lock().unwrap_or_else(PoisonError::into_inner);
        if sender.receiver_count() > 0 {
            return false;
        }
        if slot.as_ref().is_some_and(|s| s.same_channel(sender)) {
            *slot = None;
        }
        true
    }
}

/// What the last look saw.
#[derive(Debug, Default)]
struct Seen {
    counts: Option<StatusCounts>,
    tasks: HashMap<TaskId, (TaskState, DateTime<Utc>)>,
}

impl Seen {
    /// The events between the last look and this one, oldest change first.
    fn update(&mut self, counts: StatusCounts, newest: &[cogman::Task]) -> Vec<LiveEvent> {
        let first_look = self.counts.is_none();
        let mut events = Vec::new();
        let mut tasks = HashMap::with_capacity(newest.len());
        for task in newest.iter().rev() {
            let now = (task.status, task.updated_at);
            if !first_look && self.tasks.get(&task.id) != Some(&now) {
                events.push(LiveEvent::Task(LiveTask::from(task)));
            }
            tasks.insert(task.id, now);
        }
        self.tasks = tasks;
        if self.counts.as_ref() != Some(&counts) {
            if !first_look {
                events.push(LiveEvent::Counts(LiveCounts::new(Utc::now(), &counts)));
            }
            self.counts = Some(counts);
        }
        events
    }
}

/// The watcher: looks at the log every interval until nobody listens or the hub closes.
async fn watch_log(hub: EventHub, inspector: Inspector, sender: broadcast::Sender<LiveEvent>) {
    let mut ticks = tokio::time::interval(hub.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let closed = hub.closed();
    tokio::pin!(closed);
    let mut seen = Seen::default();
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = &mut closed => return,
        }
        if hub.release_if_unheard(&sender) {
            return;
        }
        let look = async {
            let counts = inspector.totals().await?;
            let newest = inspector
                .list(&TaskFilter::default(), PageRequest::first(WINDOW))
                .await?;
            Ok::<_, cogman::Error>((counts, newest.items))
        };
        match look.await {
            Ok((counts, newest)) => {
                for event in seen.update(counts, &newest) {
                    // No receiver left: the next tick stops the watcher.
                    let _ = sender.send(event);
                }
            }
            Err(error) => tracing::debug!(%error, "the live feed could not read the task log"),
        }
    }
}
