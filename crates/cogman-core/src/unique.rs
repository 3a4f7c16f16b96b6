//! Unique tasks: a key that at most one task holds at a time. A send carrying a [`UniqueKey`]
//! is recorded only if no live task holds the key ([`TaskLog::create_unique`], atomic in the
//! log); otherwise the log answers with the holder ([`Claim::Held`]) and nothing is written.
//! A key is held "until finished" (released by [`TaskLog::release_unique`] when the task's
//! chain of attempts ends) or for a fixed time from the send.
//!
//! [`TaskLog::create_unique`]: crate::TaskLog::create_unique
//! [`TaskLog::release_unique`]: crate::TaskLog::release_unique

use std::time::Duration;

use crate::task::{Limits, TaskId, ValidationError};

/// A unique key and how long a task holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UniqueKey {
    /// The key: 1 to `max_name_bytes` bytes, no control characters.
    pub key: String,
    /// Held for this long from the send (even after the task finished); `None`: held until
    /// the task (every attempt of it) ends in success, failed or cancelled.
    pub hold: Option<Duration>,
}

impl UniqueKey {
    /// When a key held for `hold` from `now_ms` (milliseconds since the epoch) expires, in
    /// the same unit (saturating); `None` for "until finished".
    pub fn expires_at_ms(&self, now_ms: i64) -> Option<i64> {
        self.hold.map(|hold| {
            now_ms.saturating_add(i64::try_from(hold.as_millis()).unwrap_or(i64::MAX).max(1))
        })
    }
}

/// What [`crate::TaskLog::create_unique`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The key was free: the task holds it now and is recorded.
    Created,
    /// A live task holds the key: nothing was written.
    Held {
        /// The task holding the key (the first attempt's id).
        by: TaskId,
    },
}

/// Checks a unique key and its hold time: a key of 1 to `max_name_bytes` bytes without
/// control characters, a hold time above zero and at most `max_delay`, and no hold time
/// without a key.
///
/// # Errors
/// [`ValidationError::InvalidUniqueKey`] saying what is wrong.
pub fn validate_unique(
    key: Option<&str>,
    hold: Option<Duration>,
    limits: &Limits,
) -> Result<(), ValidationError> {
    let Some(key) = key else {
        return match hold {
            Some(_) => Err(ValidationError::InvalidUniqueKey(
                "unique_for needs a unique_key",
            )),
            None => Ok(()),
        };
    };
    if key.is_empty() {
        return Err(ValidationError::InvalidUniqueKey("empty"));
    }
    if key.len() > limits.max_name_bytes {
        return Err(ValidationError::InvalidUniqueKey("too long"));
    }
    if key.chars().any(char::is_control) {
        return Err(ValidationError::InvalidUniqueKey(
            "contains a control character",
        ));
    }
    match hold {
        Some(d) if d.as_millis() == 0 => Err(ValidationError::InvalidUniqueKey(
            "unique_for must be at least 1 ms",
        )),
        Some(d) if d > limits.max_delay => Err(ValidationError::InvalidUniqueKey(
            "unique_for is above the limit (max_delay)",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_keys_are_refused() {
        let limits = Limits::default();
        let check = |key: Option<&str>, hold| validate_unique(key, hold, &limits);
        assert_eq!(check(None, None), Ok(()));
        assert_eq!(check(Some("order-42"), None), Ok(()));
        assert_eq!(check(Some("k"), Some(Duration::from_secs(3600))), Ok(()));
        for (key, hold) in [
            (None, Some(Duration::from_secs(1))),
            (Some(""), None),
            (Some("a\nb"), None),
            (Some("a\0b"), None),
            (Some(&*"x".repeat(201)), None),
            (Some("k"), Some(Duration::ZERO)),
            (Some("k"), Some(Duration::from_secs(400 * 24 * 3600))),
        ] {
            assert!(
                matches!(check(key, hold), Err(ValidationError::InvalidUniqueKey(_))),
                "{key:?} {hold:?}"
            );
        }
    }

    #[test]
    fn expiry_saturates() {
        let key = UniqueKey {
            key: "k".into(),
            hold: Some(Duration::from_secs(2)),
        };
        assert_eq!(key.expires_at_ms(1_000), Some(3_000));
        assert_eq!(key.expires_at_ms(i64::MAX), Some(i64::MAX));
        let until_done = UniqueKey { hold: None, ..key };
        assert_eq!(until_done.expires_at_ms(0), None);
    }
}
