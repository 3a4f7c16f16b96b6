//! [`SqliteConsumer`]: hands out claimed tasks one at a time. It claims in batches (up to
//! `prefetch` minus the deliveries still unsettled) and buffers them; when nothing is due it
//! waits for this process's wake-up signal, the poll interval, or the next run time, whichever
//! comes first. `next` is cancel-safe: a claim in flight is kept and collected by the next
//! call. Dropping the consumer gives back the leases of tasks it buffered but never handed out.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use cogman_core::{BrokerError, ConsumeOptions, Consumer, Delivery};
use rusqlite::params;
use tokio::time::Instant;

use super::claim::{self, ClaimBatch, ClaimRequest, Claimed};
use super::delivery::SqliteDelivery;
use crate::error::SqliteError;
use crate::store::SqliteStore;
use crate::time::{duration_ns, now_ns};
use crate::writer::{self, Reply};

/// Shortest pause between two empty claims.
const MIN_WAIT: Duration = Duration::from_millis(1);

/// A claimed task waiting in the local buffer.
#[derive(Debug)]
struct Buffered {
    claimed: Claimed,
    /// When its lease was taken or last extended.
    leased_at: Instant,
}

/// Consumes the store's queue.
#[derive(Debug)]
pub(crate) struct SqliteConsumer {
    store: SqliteStore,
    request: ClaimRequest,
    prefetch: usize,
    lease: Duration,
    buffer: VecDeque<Buffered>,
    /// A claim sent to the writer and not yet collected (kept across cancelled `next` calls).
    pending: Option<Reply<ClaimBatch>>,
    unsettled: Arc<AtomicUsize>,
}

impl SqliteConsumer {
    pub(crate) fn new(store: SqliteStore, options: &ConsumeOptions) -> Self {
        let lease = options.lease.max(Duration::from_millis(1));
        let request = ClaimRequest {
            owner: options.consumer_tag.clone(),
            lease_ns: duration_ns(lease),
            limit: 1,
            max_deliveries: store.options().max_deliveries.max(1),
            queues: serde_json::to_string(&options.queues)
                .expect("invariant: a list of strings serializes"),
        };
        SqliteConsumer {
            store,
            request,
            prefetch: usize::from(options.prefetch.max(1)),
            lease,
            buffer: VecDeque::new(),
            pending: None,
            unsettled: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Collects the claim in flight, sending a new one first if there is none.
    async fn claim(&mut self) -> Result<ClaimBatch, SqliteError> {
        if self.pending.is_none() {
            let in_hand = self.unsettled.load(Ordering::Acquire);
            let mut request = self.request.clone();
            request.limit = self.prefetch.saturating_sub(in_hand).max(1);
            let reply = self
                .store
                .writer()
                .submit(move |conn| claim::claim(conn, &request))?;
            self.pending = Some(reply);
        }
        let reply = self.pending.as_mut().expect("invariant: set just above");
        let result = reply.await;
        self.pending = None;
        result.map_err(|_| SqliteError::Stopped("writer"))?
    }

    /// Renews the lease of the buffered task at the front if half of it has passed. Returns
    /// false when the lease was lost (the task went to another consumer).
    async fn refresh_front(&mut self) -> Result<bool, SqliteError> {
        let Some(front) = self.buffer.front() else {
            return Ok(true);
        };
        if front.leased_at.elapsed() < self.lease / 2 {
            return Ok(true);
        }
        let (seq, token) = (front.claimed.seq, front.claimed.token);
        let until = now_ns().saturating_add(self.request.lease_ns);
        let changed = self
            .store
            .writer()
            .run(move |conn| {
                Ok(conn
                    .prepare_cached(
                        "UPDATE queue SET visible_at = ?3 WHERE seq = ?1 AND lease_token = ?2",
                    )?
                    .execute(params![seq, token, until])?)
            })
            .await?;
        if let Some(front) = self.buffer.front_mut() {
            front.leased_at = Instant::now();
        }
        Ok(changed > 0)
    }

    fn hand_out(&self, claimed: Claimed) -> Delivery {
        let handle = SqliteDelivery::new(
            self.store.clone(),
            claimed.seq,
            claimed.token,
            Arc::clone(&self.unsettled),
        );
        Delivery::new(claimed.task, claimed.deliveries, Box::new(handle))
            .with_handler_wait(claimed.handler_wait)
    }

    /// How long to wait after an empty claim.
    fn idle_wait(&self, next_visible: Option<i64>) -> Duration {
        let poll = self.store.options().poll_interval;
        let until_due = next_visible.map(|at| {
            let ns = at.saturating_sub(now_ns()).max(0);
            Duration::from_nanos(u64::try_from(ns).unwrap_or(0))
        });
        until_due.map_or(poll, |d| d.min(poll)).max(MIN_WAIT)
    }
}

#[async_trait]
impl Consumer for SqliteConsumer {
    async fn next(&mut self) -> Result<Delivery, BrokerError> {
        loop {
            if self.store.is_closed() {
                return Err(BrokerError::Closed);
            }
            if !self.buffer.is_empty() {
                let kept = self.refresh_front().await?;
                let front = self
                    .buffer
                    .pop_front()
                    .expect("invariant: the buffer was not empty and only next() pops it");
                if kept {
                    return Ok(self.hand_out(front.claimed));
                }
                continue;
            }
            // Register for wake-ups before claiming, so a publish during the claim is not
            // missed.
            let wake = self.store.clone();
            let notified = wake.wake().notified();
            tokio::pin!(notified);
            notified.as_mut().enable();

            let batch = self.claim().await?;
            if !batch.claimed.is_empty() || batch.dead_lettered > 0 {
                let now = Instant::now();
                self.buffer
                    .extend(batch.claimed.into_iter().map(|claimed| Buffered {
                        claimed,
                        leased_at: now,
                    }));
                continue;
            }
            let wait = self.idle_wait(batch.next_visible);
            tokio::select! {
                () = &mut notified => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}

impl Drop for SqliteConsumer {
    fn drop(&mut self) {
        let leases: Vec<(i64, i64)> = self
            .buffer
            .drain(..)
            .map(|b| (b.claimed.seq, b.claimed.token))
            .collect();
        if !leases.is_empty() {
            // Fire and forget: if it fails, the leases simply run out.
            let _ = self
                .store
                .writer()
                .submit(move |conn| claim::release(conn, &leases));
            self.store.wake_consumers();
        }
        if let Some(pending) = self.pending.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let store = self.store.clone();
            runtime.spawn(async move {
                if let Ok(batch) = writer::wait(pending).await {
                    let leases: Vec<_> = batch.claimed.iter().map(|c| (c.seq, c.token)).collect();
                    if !leases.is_empty() {
                        let _ = store
                            .writer()
                            .run(move |conn| claim::release(conn, &leases))
                            .await;
                        store.wake_consumers();
                    }
                }
            });
        }
    }
}
