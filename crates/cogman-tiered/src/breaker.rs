//! [`HotBreaker`]: keeps an unreachable hot log off the task path. After a hot call fails (or
//! runs past [`HOT_CALL_TIMEOUT`]), hot calls are skipped for [`COOL_OFF`]; then one call is let
//! through as a probe, and the first success closes the breaker. Without it, every write would
//! wait for the hot log's own retries while Redis is down, and task execution would crawl.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long hot calls are skipped after a failure before one probes again.
const COOL_OFF: Duration = Duration::from_secs(1);

/// Longest a hot call may take before it counts as failed (the hot log is a cache: a write it
/// missed is repaired later).
pub(crate) const HOT_CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// Open (skip the hot log) until a point in time, or closed.
#[derive(Debug, Default)]
pub(crate) struct HotBreaker {
    open_until: Mutex<Option<Instant>>,
}

impl HotBreaker {
    /// True when the caller may call the hot log: the breaker is closed, or its cool-off is
    /// over and this caller is the probe (others keep skipping while it runs).
    pub(crate) fn allows(&self) -> bool {
        self.allows_at(Instant::now())
    }

    fn allows_at(&self, now: Instant) -> bool {
        let mut open_until = self.lock();
        match *open_until {
            None => true,
            Some(until) if now >= until => {
                *open_until = Some(now + COOL_OFF);
                true
            }
            Some(_) => false,
        }
    }

    /// True when the breaker is closed (no recent failure); changes nothing.
    #[cfg(test)]
    pub(crate) fn is_closed(&self) -> bool {
        self.lock().is_none()
    }

    /// A hot call failed: skip the hot log for [`COOL_OFF`].
    pub(crate) fn failed(&self) {
        self.failed_at(Instant::now());
    }

    fn failed_at(&self, now: Instant) {
        let mut open_until = self.lock();
        if open_until.is_none() {
            tracing::warn!(
                "hot task log unreachable; using the durable log alone until it answers"
            );
        }
        *open_until = Some(now + COOL_OFF);
    }

    /// A hot call succeeded: use the hot log again.
    pub(crate) fn succeeded(&self) {
        let mut open_until = self.lock();
        if open_until.take().is_some() {
            tracing::info!("hot task log reachable again");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.open_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_skips_the_hot_log_then_one_caller_probes() {
        let breaker = HotBreaker::default();
        let t0 = Instant::now();
        assert!(breaker.allows_at(t0), "closed");
        breaker.failed_at(t0);
        assert!(!breaker.allows_at(t0), "open during the cool-off");
        assert!(
            breaker.allows_at(t0 + COOL_OFF),
            "one probe after the cool-off"
        );
        assert!(
            !breaker.allows_at(t0 + COOL_OFF),
            "the others skip while it runs"
        );
        breaker.succeeded();
        assert!(
            breaker.allows_at(t0) && breaker.allows_at(t0),
            "closed again"
        );
    }
}
