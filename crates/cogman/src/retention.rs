//! [`Retention`]: the background purge every long-running process runs (a [`Worker`] and
//! `cogman serve`). Every `every` (jittered between half and all of it, so processes started
//! together spread out) it deletes the finished tasks created more than `ttl` ago, with their
//! history, through [`TaskLog::purge_before`]; unfinished tasks are never deleted. The logs
//! keep two processes from purging at once (PostgreSQL with an advisory lock, SQLite with its
//! write lock), so every process may run it.
//!
//! [`Worker`]: crate::Worker

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use cogman_core::background::{Retry, spawn_retrying};
use cogman_core::{Backoff, TaskLog};
use tokio_util::sync::CancellationToken;

/// How long finished tasks are kept and how often they are purged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionOptions {
    /// Finished tasks created longer ago than this are deleted.
    pub ttl: Duration,
    /// Time between purges.
    pub every: Duration,
}

struct RetentionInner {
    log: Arc<dyn TaskLog>,
    options: RetentionOptions,
    /// Tasks this process has purged.
    purged: AtomicU64,
    started: AtomicBool,
    stop: CancellationToken,
}

/// The periodic purge of one task log. Cheap to clone; the loop ends on [`Retention::stop`] or
/// once every handle is dropped.
#[derive(Clone)]
pub struct Retention {
    inner: Arc<RetentionInner>,
}

impl std::fmt::Debug for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retention")
            .field("options", &self.inner.options)
            .field("purged", &self.purged())
            .finish_non_exhaustive()
    }
}

impl Retention {
    /// A purge of `log` with `options`, not started yet.
    pub fn new(log: Arc<dyn TaskLog>, options: RetentionOptions) -> Retention {
        Retention {
            inner: Arc::new(RetentionInner {
                log,
                options,
                purged: AtomicU64::new(0),
                started: AtomicBool::new(false),
                stop: CancellationToken::new(),
            }),
        }
    }

    /// Starts purging in the background: the first purge comes after one interval. Calling it
    /// again, or after [`Retention::stop`], does nothing.
    pub fn start(&self) {
        if self.inner.stop.is_cancelled() || self.inner.started.swap(true, Ordering::SeqCst) {
            return;
        }
        let every = self.inner.options.every.max(Duration::from_millis(1));
        let backoff = Backoff {
            base: every,
            max: every,
        };
        spawn_retrying(&self.inner, backoff, |inner, _| async move {
            if inner.stop.is_cancelled() {
                return Retry::Stop;
            }
            inner.purge_once().await;
            if inner.stop.is_cancelled() {
                Retry::Stop
            } else {
                Retry::Again
            }
        });
    }

    /// Stops purging (a purge under way finishes).
    pub fn stop(&self) {
        self.inner.stop.cancel();
    }

    /// The options.
    pub fn options(&self) -> RetentionOptions {
        self.inner.options
    }

    /// Tasks this process has purged since it started.
    pub fn purged(&self) -> u64 {
        self.inner.purged.load(Ordering::Relaxed)
    }
}

impl RetentionInner {
    /// The cutoff now: tasks created before it are old enough to go.
    fn cutoff(&self) -> DateTime<Utc> {
        let ttl = chrono::Duration::from_std(self.options.ttl).unwrap_or(chrono::Duration::MAX);
        Utc::now()
            .checked_sub_signed(ttl)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// One purge; failures are logged, and the next interval tries again.
    async fn purge_once(&self) {
        let cutoff = self.cutoff();
        match self.log.purge_before(cutoff).await {
            Ok(0) => {}
            Ok(tasks) => {
                self.purged.fetch_add(tasks, Ordering::Relaxed);
                tracing::info!(tasks, %cutoff, "purged finished tasks older than the TTL");
            }
            Err(error) if error.is_transient() => {
                tracing::info!(%error, "the task log is unavailable; purging again at the next interval");
            }
            Err(error) => tracing::warn!(%error, "purging finished tasks failed"),
        }
    }
}
