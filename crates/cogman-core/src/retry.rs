//! [`Backoff`]: how long to wait before the next attempt — exponential in the attempt number,
//! capped, with full jitter so that many failing tasks do not retry in lockstep — and
//! [`retry_transient`], the loop backends run around calls cut by a lost connection.

use std::future::Future;
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
    /// The schedule of [`retry_transient`]: 25 ms, doubling, up to 1 s.
    pub const RECONNECT: Backoff = Backoff {
        base: Duration::from_millis(25),
        max: Duration::from_secs(1),
    };

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

/// The wait before retry number `retry` (1-based) of a call cut by a lost connection: the
/// first retry at once (the client is already reconnecting), then [`Backoff::RECONNECT`].
pub fn reconnect_delay(retry: u32) -> Duration {
    match retry {
        0 | 1 => Duration::ZERO,
        n => Backoff::RECONNECT.delay(n - 2),
    }
}

/// Runs `op` until it succeeds, fails for good, or has been retried `retries` times. Only a
/// failure that `is_transient` accepts is retried, after [`reconnect_delay`]. Before each
/// retry, `wait` gets the error, the retry number (1-based) and the delay, and returns the
/// future that sleeps that long: the caller owns the timer and the logging (this crate does
/// no I/O). The last error is returned as it is. Only for idempotent calls.
///
/// ```
/// # futures::executor::block_on(async {
/// use std::time::Duration;
/// let mut calls = 0;
/// let result: Result<u32, &str> = cogman_core::retry::retry_transient(
///     3,
///     |e: &&str| *e == "cut",
///     || {
///         calls += 1;
///         let answer = if calls < 3 { Err("cut") } else { Ok(calls) };
///         async move { answer }
///     },
///     |_error, _retry, _delay: Duration| async {},
/// )
/// .await;
/// assert_eq!(result, Ok(3));
/// # });
/// ```
pub async fn retry_transient<T, E, Op, OpFut, Wait, WaitFut>(
    retries: u32,
    is_transient: impl Fn(&E) -> bool,
    mut op: Op,
    mut wait: Wait,
) -> Result<T, E>
where
    Op: FnMut() -> OpFut,
    OpFut: Future<Output = Result<T, E>>,
    Wait: FnMut(&E, u32, Duration) -> WaitFut,
    WaitFut: Future<Output = ()>,
{
    let mut retry = 0;
    loop {
        match op().await {
            Err(error) if retry < retries && is_transient(&error) => {
                retry += 1;
                wait(&error, retry, reconnect_delay(retry)).await;
            }
            done => return done,
        }
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
    fn reconnect_retries_start_at_once_and_are_capped() {
        assert_eq!(reconnect_delay(1), Duration::ZERO);
        assert!(reconnect_delay(2) <= Duration::from_millis(25));
        assert!(reconnect_delay(3) >= Duration::from_millis(25));
        assert!(reconnect_delay(20) <= Duration::from_secs(1));
        assert!(reconnect_delay(30) <= Duration::from_secs(1));
    }

    #[tokio::test]
    async fn only_transient_failures_are_retried_and_only_so_often() {
        let mut waits = Vec::new();
        let mut calls = 0;
        let result: Result<(), &str> = retry_transient(
            2,
            |e: &&str| *e == "cut",
            || {
                calls += 1;
                async { Err("cut") }
            },
            |error, retry, delay| {
                waits.push((error.to_string(), retry, delay));
                async {}
            },
        )
        .await;
        assert_eq!(result, Err("cut"));
        assert_eq!(calls, 3, "one call and two retries");
        assert_eq!(waits.len(), 2);
        assert_eq!((waits[0].1, waits[0].2), (1, Duration::ZERO));
        assert_eq!(waits[1].1, 2);

        let mut calls = 0;
        let result: Result<(), &str> = retry_transient(
            5,
            |e: &&str| *e == "cut",
            || {
                calls += 1;
                async { Err("refused") }
            },
            |_, _, _| async {},
        )
        .await;
        assert_eq!(
            (result, calls),
            (Err("refused"), 1),
            "a lasting failure is not retried"
        );
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
