//! Pausing named queues: [`Client::pause_queue`] and [`Client::resume_queue`] set the flag in
//! the task log's [`QueuePauses`]; [`Inspector::paused_queues`] and [`Inspector::named_queues`]
//! read it; and
//! [`ActiveQueues`] is how a worker follows it — it reads the flags before it consumes and
//! every [`PAUSE_CHECK`] after, and consumes only the queues it serves that are not paused.

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{DateTime, Utc};

use cogman_core::{PausedQueue, QueuePauses, TaskLog, validate_queue_name};

use crate::client::Client;
use crate::error::Error;
use crate::inspector::Inspector;

/// How often a worker reads the paused queues: a pause or a resume takes effect within it.
pub const PAUSE_CHECK: Duration = Duration::from_secs(1);

fn pauses(log: &dyn TaskLog) -> Result<&dyn QueuePauses, Error> {
    log.queue_pauses().ok_or(Error::QueuePausesUnsupported)
}

impl Client {
    /// Pauses the named queue `queue`: it keeps accepting tasks, and no worker takes any of
    /// them until [`Client::resume_queue`]. True when it was not paused before.
    ///
    /// # Errors
    /// [`Error::Validation`] for a bad queue name; [`Error::QueuePausesUnsupported`];
    /// [`Error::TaskLog`].
    pub async fn pause_queue(&self, queue: &str) -> Result<bool, Error> {
        validate_queue_name(queue)?;
        Ok(pauses(self.log().as_ref())?
            .set_queue_paused(queue, true)
            .await?)
    }

    /// Resumes the named queue `queue`: workers take its tasks again, oldest first. True when
    /// it was paused.
    ///
    /// # Errors
    /// As [`Client::pause_queue`].
    pub async fn resume_queue(&self, queue: &str) -> Result<bool, Error> {
        validate_queue_name(queue)?;
        Ok(pauses(self.log().as_ref())?
            .set_queue_paused(queue, false)
            .await?)
    }
}

/// A named queue as the overview shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NamedQueue {
    /// The named queue.
    pub name: String,
    /// When it was paused; `None` while it delivers.
    pub paused_since: Option<DateTime<Utc>>,
}

impl Inspector {
    /// Every paused queue, by name.
    ///
    /// # Errors
    /// [`Error::QueuePausesUnsupported`]; [`Error::TaskLog`].
    pub async fn paused_queues(&self) -> Result<Vec<PausedQueue>, Error> {
        Ok(pauses(self.log().as_ref())?.paused_queues().await?)
    }

    /// The named queues known here, by name: `default`, those live workers consume, and the
    /// paused ones, each with its pause.
    ///
    /// # Errors
    /// [`Error::QueuePausesUnsupported`]; [`Error::TaskLog`].
    pub async fn named_queues(&self) -> Result<Vec<NamedQueue>, Error> {
        let paused = self.paused_queues().await?;
        let mut names: BTreeSet<String> = BTreeSet::from([cogman_core::default_queue()]);
        for worker in self.workers().await?.into_iter().flatten() {
            names.extend(worker.queues);
        }
        names.extend(paused.iter().map(|p| p.queue.clone()));
        Ok(names
            .into_iter()
            .map(|name| NamedQueue {
                paused_since: paused.iter().find(|p| p.queue == name).map(|p| p.since),
                name,
            })
            .collect())
    }
}

/// The queues a worker serves, less those paused, as last read from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ActiveQueues {
    served: Vec<String>,
    active: Vec<String>,
}

impl ActiveQueues {
    /// Before the first read: every served queue.
    pub(crate) fn new(served: Vec<String>) -> Self {
        ActiveQueues {
            active: served.clone(),
            served,
        }
    }

    /// The served queues that were not paused at the last read.
    pub(crate) fn active(&self) -> &[String] {
        &self.active
    }

    /// Reads the paused queues from `log`; true when the active queues changed. A log without
    /// pauses has every served queue active.
    ///
    /// # Errors
    /// When the log cannot be read; the active queues stay as they were.
    pub(crate) async fn refresh(&mut self, log: &dyn TaskLog) -> Result<bool, Error> {
        let Some(pauses) = log.queue_pauses() else {
            return Ok(false);
        };
        let paused = pauses.paused_queues().await?;
        let active: Vec<String> = self
            .served
            .iter()
            .filter(|queue| !paused.iter().any(|p| &p.queue == *queue))
            .cloned()
            .collect();
        let changed = active != self.active;
        self.active = active;
        Ok(changed)
    }
}
