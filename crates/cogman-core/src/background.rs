//! [`spawn_retrying`]: the background loop that keeps retrying something (a first connection, a
//! migration) with a [`Backoff`] until it is done, for as long as its owner is alive.

use std::future::Future;
use std::sync::{Arc, Weak};

use tokio::task::JoinHandle;

use crate::retry::Backoff;

/// What one background attempt decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Not done yet and worth waiting for: try again after the next delay.
    Again,
    /// Done, or failed in a way that waiting does not fix: the loop ends.
    Stop,
}

/// Spawns a task that waits `backoff.delay(n)` and then calls `attempt(owner, n + 1)` for
/// `n = 0, 1, …` until the attempt answers [`Retry::Stop`]. The first attempt comes after a
/// delay, since the caller has usually just made one itself. The task holds `owner` only
/// weakly (a strong handle only for the length of an attempt), and ends once every other
/// handle is dropped. Logging is the attempt's job; it gets the attempt number (1-based).
pub fn spawn_retrying<S, F, Fut>(owner: &Arc<S>, backoff: Backoff, mut attempt: F) -> JoinHandle<()>
where
    S: Send + Sync + 'static,
    F: FnMut(Arc<S>, u32) -> Fut + Send + 'static,
    Fut: Future<Output = Retry> + Send,
{
    let owner: Weak<S> = Arc::downgrade(owner);
    tokio::spawn(async move {
        let mut tries = 0;
        loop {
            tokio::time::sleep(backoff.delay(tries)).await;
            tries = tries.saturating_add(1);
            let Some(owner) = owner.upgrade() else { return };
            if attempt(owner, tries).await == Retry::Stop {
                return;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::sync::mpsc;

    use super::*;

    const AT_ONCE: Backoff = Backoff {
        base: Duration::ZERO,
        max: Duration::ZERO,
    };
    const DEADLINE: Duration = Duration::from_secs(5);

    #[tokio::test]
    async fn retries_until_the_attempt_stops() {
        let owner = Arc::new(());
        let (seen, mut attempts) = mpsc::unbounded_channel();
        let task = spawn_retrying(&owner, AT_ONCE, move |_owner, attempt| {
            let seen = seen.clone();
            async move {
                seen.send(attempt).expect("the test is listening");
                if attempt < 3 {
                    Retry::Again
                } else {
                    Retry::Stop
                }
            }
        });
        tokio::time::timeout(DEADLINE, task)
            .await
            .expect("the loop ends once the attempt answers Stop")
            .expect("the loop does not panic");
        let mut numbers = Vec::new();
        while let Ok(attempt) = attempts.try_recv() {
            numbers.push(attempt);
        }
        assert_eq!(numbers, [1, 2, 3]);
        assert_eq!(Arc::strong_count(&owner), 1, "no handle is kept");
    }

    #[tokio::test]
    async fn stops_once_the_owner_is_dropped() {
        let owner = Arc::new(());
        // Capacity 1: the loop cannot run ahead of the test by more than one attempt.
        let (seen, mut attempts) = mpsc::channel(1);
        let task = spawn_retrying(&owner, AT_ONCE, move |_owner, attempt| {
            let seen = seen.clone();
            async move {
                let _ = seen.send(attempt).await;
                Retry::Again
            }
        });
        let first = tokio::time::timeout(DEADLINE, attempts.recv()).await;
        assert_eq!(first.expect("an attempt within the deadline"), Some(1));
        drop(owner);
        let drained =
            tokio::time::timeout(DEADLINE, async { while attempts.recv().await.is_some() {} })
                .await;
        assert!(drained.is_ok(), "the loop ends once the owner is dropped");
        tokio::time::timeout(DEADLINE, task)
            .await
            .expect("the task has ended")
            .expect("the loop does not panic");
    }
}
