//! Unique keys of the [`MemoryLog`](super::MemoryLog): a map from key to holder and expiry,
//! decided under the log's one mutex together with the record it creates.

use std::collections::HashMap;
use std::time::Instant;

use cogman_core::{Claim, TaskId, UniqueKey};

/// Who holds each key, and until when (`None`: until released).
#[derive(Debug, Default)]
pub(super) struct UniqueKeys(HashMap<String, (TaskId, Option<Instant>)>);

impl UniqueKeys {
    /// Claims `key` for `holder` unless a live claim holds it (then names that holder).
    pub(super) fn claim(&mut self, key: &UniqueKey, holder: TaskId, now: Instant) -> Claim {
        if let Some((by, until)) = self.0.get(&key.key)
            && until.is_none_or(|until| until > now)
        {
            return Claim::Held { by: *by };
        }
        let until = key.hold.map(|hold| now + hold);
        self.0.insert(key.key.clone(), (holder, until));
        Claim::Created
    }

    /// Drops `holder`'s "until finished" claim of `key`; any other claim stays.
    pub(super) fn release(&mut self, key: &str, holder: TaskId) {
        if self
            .0
            .get(key)
            .is_some_and(|(by, until)| *by == holder && until.is_none())
        {
            self.0.remove(key);
        }
    }

    /// Drops `holder`'s claim of `key` whatever its kind (a claim whose task was not recorded).
    pub(super) fn forget(&mut self, key: &str, holder: TaskId) {
        if self.0.get(key).is_some_and(|(by, _)| *by == holder) {
            self.0.remove(key);
        }
    }
}
