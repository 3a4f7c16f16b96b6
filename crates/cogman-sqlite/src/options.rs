//! [`SqliteOptions`]: where the file is and how it is written (durability, lock waits, poison
//! limit, polling).

use std::path::PathBuf;
use std::time::Duration;

/// How hard SQLite works to make a commit survive a crash (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Synchronous {
    /// Every commit is on disk before it is acknowledged: an accepted task survives a process
    /// crash and a power loss. The default.
    #[default]
    Full,
    /// In WAL mode, survives a process crash, but the last commits may be lost on power loss
    /// or an OS crash. About 3x faster.
    Normal,
}

impl Synchronous {
    pub(crate) fn pragma_value(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// How to open the embedded store. Build with [`SqliteOptions::new`] and the `with_*` setters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqliteOptions {
    /// The database file (created if missing; its directory must exist).
    pub path: PathBuf,
    /// Durability of commits. Default [`Synchronous::Full`].
    pub synchronous: Synchronous,
    /// How long a writer waits for another process's write lock before reporting the store
    /// unavailable. Default 5 s.
    pub busy_timeout: Duration,
    /// A task delivered this many times without being settled (its worker died each time) is
    /// poison: it is dead-lettered and recorded `failed`. Default 10.
    pub max_deliveries: u32,
    /// How often an idle consumer checks for work published by other processes (work published
    /// by this process wakes it at once). Default 200 ms.
    pub poll_interval: Duration,
    /// The task log is another store (PostgreSQL, Redis): the queue's dead letters are handed
    /// over through [`Broker::dead_letter_feed`](cogman_core::Broker::dead_letter_feed) to be
    /// stored there, and deleted from the file once stored. Default `false`: the file is the
    /// task log and keeps them.
    pub hand_over_dead_letters: bool,
}

impl SqliteOptions {
    /// Defaults for the file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        SqliteOptions {
            path: path.into(),
            synchronous: Synchronous::Full,
            busy_timeout: Duration::from_secs(5),
            max_deliveries: 10,
            poll_interval: Duration::from_millis(200),
            hand_over_dead_letters: false,
        }
    }

    /// Sets the durability of commits.
    #[must_use]
    pub fn with_synchronous(mut self, synchronous: Synchronous) -> Self {
        self.synchronous = synchronous;
        self
    }

    /// Sets how long to wait for another process's lock.
    #[must_use]
    pub fn with_busy_timeout(mut self, busy_timeout: Duration) -> Self {
        self.busy_timeout = busy_timeout;
        self
    }

    /// Sets the delivery count after which an unsettled task is poison (at least 1).
    #[must_use]
    pub fn with_max_deliveries(mut self, max_deliveries: u32) -> Self {
        self.max_deliveries = max_deliveries.max(1);
        self
    }

    /// Sets how often idle consumers poll for work from other processes.
    #[must_use]
    pub fn with_poll_interval(mut self, poll_interval: Duration) -> Self {
        self.poll_interval = poll_interval;
        self
    }

    /// Hands the queue's dead letters over to another task log (see
    /// [`SqliteOptions::hand_over_dead_letters`]).
    #[must_use]
    pub fn with_hand_over_dead_letters(mut self, hand_over: bool) -> Self {
        self.hand_over_dead_letters = hand_over;
        self
    }
}
