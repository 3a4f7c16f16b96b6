//! [`Backoff`]: how long to wait before the next attempt — exponential in the attempt number,
//! capped, with full jitter so that many failing tasks do not retry in lockstep.

use std::time::Duration;

use rand::Rng;

/// Exponential backoff with jitter: attempt `n` (0-based) waits a random time in
/// `[base·2ⁿ / 2, base·2ⁿ]`, never more than `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay before the first retry (before jitter). Default 1 s.
    pub base: Duration,
    /// Upper bound on any delay. Default 10 min.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(600),
        }
    }
}

impl Backoff {
    /// The un-jittered delay for `attempt`.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.min(30));
        self.base.saturating_mul(factor).min(self.max)
    }

    /// The delay before retrying after failed attempt `attempt`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        let spread = (ceiling - half).as_millis() as u64;
        let jitter = if spread == 0 {
            0
        } else {
            rand::rng().random_range(0..=spread)
        };
        half + Duration::from_millis(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn delay_stays_within_half_and_full_ceiling(attempt in 0u32..64, base_ms in 1u64..5_000, max_ms in 1u64..1_000_000) {
            let backoff = Backoff { base: Duration::from_millis(base_ms), max: Duration::from_millis(max_ms) };
            let ceiling = backoff.ceiling(attempt);
            let delay = backoff.delay(attempt);
            prop_assert!(ceiling <= backoff.max);
            prop_assert!(delay <= ceiling);
            prop_assert!(delay >= ceiling / 2);
        }
    }

    #[test]
    fn ceiling_grows_then_caps() {
        let backoff = Backoff {
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        assert_eq!(backoff.ceiling(0), Duration::from_millis(100));
        assert_eq!(backoff.ceiling(2), Duration::from_millis(400));
        assert_eq!(backoff.ceiling(10), Duration::from_secs(1));
    }
}
