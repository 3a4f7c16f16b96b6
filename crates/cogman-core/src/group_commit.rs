//! Group commit, shared by the log backends' background writers: callers queue writes on a
//! channel; one loop takes whatever is waiting (up to [`GroupCommit::max_batch`] writes or
//! [`GroupCommit::max_batch_bytes`]) and hands it to a commit function as one batch. While
//! [`GroupCommit::in_flight`] batches are committing, new writes queue up and form the next
//! batch, so batches grow with load and a lone write is never delayed (unless
//! [`GroupCommit::linger`] asks for it). The commit function answers each caller itself.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};
use tokio_util::task::TaskTracker;

/// How a background writer forms batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupCommit {
    /// Most writes in one batch (at least 1). Default 512.
    pub max_batch: usize,
    /// Bytes (payloads, results...) at which a batch stops taking more writes; a single
    /// larger write still goes. Default 8 MiB.
    pub max_batch_bytes: usize,
    /// How long a batch waits for more writes after the first, once a commit slot is free.
    /// Default 0: a lone write goes at once, and batches form while earlier ones commit.
    pub linger: Duration,
    /// Batches committing at the same time (at least 1). Default 2.
    pub in_flight: usize,
}

impl Default for GroupCommit {
    fn default() -> Self {
        GroupCommit {
            max_batch: 512,
            max_batch_bytes: 8 * 1024 * 1024,
            linger: Duration::ZERO,
            in_flight: 2,
        }
    }
}

impl GroupCommit {
    /// Capacity of the channel that feeds the writer: a few batches' worth.
    pub fn queue_capacity(&self) -> usize {
        self.max_batch.saturating_mul(4).max(16)
    }
}

/// A queued write: how many bytes it adds to a batch.
pub trait Weighed {
    /// The bytes this write adds to a batch (its large fields).
    fn weight(&self) -> usize;
}

/// Forms batches from `queue` and runs `commit` on each, at most `config.in_flight` at once.
/// Returns once every sender is dropped and the last batch is committed.
pub async fn run_batches<T, F, Fut>(mut queue: mpsc::Receiver<T>, config: GroupCommit, commit: F)
where
    T: Weighed,
    F: Fn(Vec<T>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(config.in_flight.max(1)));
    let tracker = TaskTracker::new();
    while let Some(first) = queue.recv().await {
        let mut batch = Batch::default();
        batch.push(first);
        batch.fill(&mut queue, &config);
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            break;
        };
        batch.fill(&mut queue, &config);
        if !config.linger.is_zero() {
            let deadline = tokio::time::Instant::now() + config.linger;
            while !batch.is_full(&config) {
                match tokio::time::timeout_at(deadline, queue.recv()).await {
                    Ok(Some(write)) => batch.push(write),
                    Ok(None) | Err(_) => break,
                }
            }
        }
        let committing = commit(batch.writes);
        tracker.spawn(async move {
            committing.await;
            drop(permit);
        });
    }
    tracker.close();
    tracker.wait().await;
}

/// Writes applied together.
struct Batch<T> {
    writes: Vec<T>,
    weight: usize,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch {
            writes: Vec::new(),
            weight: 0,
        }
    }
}

impl<T: Weighed> Batch<T> {
    fn push(&mut self, write: T) {
        self.weight = self.weight.saturating_add(write.weight());
        self.writes.push(write);
    }

    fn is_full(&self, config: &GroupCommit) -> bool {
        self.writes.len() >= config.max_batch.max(1) || self.weight >= config.max_batch_bytes
    }

    /// Takes queued writes without waiting, until the batch is full.
    fn fill(&mut self, queue: &mut mpsc::Receiver<T>, config: &GroupCommit) {
        while !self.is_full(config) {
            match queue.try_recv() {
                Ok(write) => self.push(write),
                Err(_) => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    struct Write(usize);

    impl Weighed for Write {
        fn weight(&self) -> usize {
            self.0
        }
    }

    /// Queues `writes` before the loop starts and returns the batches it formed.
    async fn batches_of(writes: Vec<usize>, config: GroupCommit) -> Vec<Vec<usize>> {
        let (tx, rx) = mpsc::channel(writes.len().max(1));
        for weight in writes {
            tx.send(Write(weight)).await.expect("queued");
        }
        drop(tx);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        run_batches(rx, config, move |batch: Vec<Write>| {
            let sink = Arc::clone(&sink);
            async move {
                let weights = batch.iter().map(|w| w.0).collect();
                sink.lock().expect("not poisoned").push(weights);
            }
        })
        .await;
        seen.lock().expect("not poisoned").clone()
    }

    #[tokio::test]
    async fn waiting_writes_form_batches_up_to_the_count_limit() {
        let config = GroupCommit {
            max_batch: 3,
            ..GroupCommit::default()
        };
        let batches = batches_of(vec![1; 7], config).await;
        assert_eq!(batches, vec![vec![1, 1, 1], vec![1, 1, 1], vec![1]]);
    }

    #[tokio::test]
    async fn a_batch_closes_at_the_byte_limit_and_a_large_write_still_goes() {
        let config = GroupCommit {
            max_batch_bytes: 10,
            ..GroupCommit::default()
        };
        let batches = batches_of(vec![4, 4, 4, 50, 1], config).await;
        assert_eq!(batches, vec![vec![4, 4, 4], vec![50], vec![1]]);
    }
}
