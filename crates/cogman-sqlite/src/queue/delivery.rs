//! [`SqliteDelivery`], the handle that settles one delivery. Every call is fenced by the lease
//! token the claim set: after the lease ran out and another consumer claimed the task, the old
//! handle changes nothing and reports [`SqliteError::LeaseLost`]. A deferred row is released
//! with its run time moved to the deferral's end, its wait counted, and its unsettled
//! deliveries reset (a deferral is a settlement, not a crash); a postponed row (a limit makes
//! its task wait) likewise, its handler wait kept.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use cogman_core::{BrokerError, DeliveryHandle, HandlerWait};
use rusqlite::params;

use super::dead_letter;
use crate::error::SqliteError;
use crate::store::SqliteStore;
use crate::time::{duration_ns, now_ns, to_ns};

/// Settles one claimed queue row.
#[derive(Debug)]
pub(crate) struct SqliteDelivery {
    store: SqliteStore,
    seq: i64,
    token: i64,
    /// The consumer's count of deliveries handed out and not yet settled.
    unsettled: Arc<AtomicUsize>,
}

impl SqliteDelivery {
    /// A handle for row `seq` under lease `token`; counts itself in `unsettled` until dropped.
    pub(crate) fn new(
        store: SqliteStore,
        seq: i64,
        token: i64,
        unsettled: Arc<AtomicUsize>,
    ) -> Self {
        unsettled.fetch_add(1, Ordering::AcqRel);
        SqliteDelivery {
            store,
            seq,
            token,
            unsettled,
        }
    }

    /// Runs a fenced statement on this row; zero rows changed means the lease was lost.
    async fn fenced(&self, sql: &'static str, extra: Option<i64>) -> Result<(), SqliteError> {
        let (seq, token) = (self.seq, self.token);
        let changed = self
            .store
            .writer()
            .run(move |conn| {
                let mut stmt = conn.prepare_cached(sql)?;
                Ok(match extra {
                    Some(value) => stmt.execute(params![seq, token, value])?,
                    None => stmt.execute(params![seq, token])?,
                })
            })
            .await?;
        if changed == 0 {
            return Err(SqliteError::LeaseLost);
        }
        Ok(())
    }
}

impl Drop for SqliteDelivery {
    fn drop(&mut self) {
        self.unsettled.fetch_sub(1, Ordering::AcqRel);
    }
}

#[async_trait]
impl DeliveryHandle for SqliteDelivery {
    async fn ack(self: Box<Self>) -> Result<(), BrokerError> {
        self.fenced(
            "DELETE FROM queue WHERE seq = ?1 AND lease_token = ?2",
            None,
        )
        .await?;
        Ok(())
    }

    async fn requeue(self: Box<Self>) -> Result<(), BrokerError> {
        self.fenced(
            "UPDATE queue SET visible_at = run_at, lease_token = NULL, lease_owner = NULL, \
             unsettled = 0 WHERE seq = ?1 AND lease_token = ?2",
            None,
        )
        .await?;
        self.store.wake_consumers();
        Ok(())
    }

    async fn dead_letter(self: Box<Self>, reason: &str) -> Result<(), BrokerError> {
        let (seq, token, reason) = (self.seq, self.token, reason.to_owned());
        let moved = self
            .store
            .writer()
            .run(move |conn| dead_letter::move_row(conn, seq, Some(token), &reason))
            .await?;
        match moved {
            Some(_) => Ok(()),
            None => Err(SqliteError::LeaseLost.into()),
        }
    }

    async fn defer(
        self: Box<Self>,
        until: DateTime<Utc>,
        wait: HandlerWait,
    ) -> Result<(), BrokerError> {
        let (seq, token) = (self.seq, self.token);
        let (at, waits, since) = (to_ns(until), i64::from(wait.waits), to_ns(wait.since));
        let changed = self
            .store
            .writer()
            .run(move |conn| {
                Ok(conn
                    .prepare_cached(
                        "UPDATE queue SET run_at = ?3, visible_at = ?3, lease_token = NULL, \
                         lease_owner = NULL, unsettled = 0, handler_waits = ?4, \
                         waiting_since = ?5 WHERE seq = ?1 AND lease_token = ?2",
                    )?
                    .execute(params![seq, token, at, waits, since])?)
            })
            .await?;
        if changed == 0 {
            return Err(SqliteError::LeaseLost.into());
        }
        self.store.wake_consumers();
        Ok(())
    }

    async fn postpone(self: Box<Self>, until: DateTime<Utc>) -> Result<(), BrokerError> {
        self.fenced(
            "UPDATE queue SET run_at = ?3, visible_at = ?3, lease_token = NULL, \
             lease_owner = NULL, unsettled = 0 WHERE seq = ?1 AND lease_token = ?2",
            Some(to_ns(until)),
        )
        .await?;
        self.store.wake_consumers();
        Ok(())
    }

    async fn extend_lease(&self, by: Duration) -> Result<(), BrokerError> {
        let until = now_ns().saturating_add(duration_ns(by));
        self.fenced(
            "UPDATE queue SET visible_at = ?3 WHERE seq = ?1 AND lease_token = ?2",
            Some(until),
        )
        .await?;
        Ok(())
    }
}
