//! [`Sender`]: a client sending tasks at a steady pace, in phases the test opens with
//! [`Sender::allow`], so sends keep flowing while a fault is injected and the test decides how
//! many come before and after it. Each task carries a primary key `{label}-{i}`, so even a
//! send that failed (and has no id) can be looked for among the runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cogman::{Client, Priority, SendReceipt, TaskSpec};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

use cogman_testkit::wait_until;

use crate::harness::{TASK, WAIT};

/// Pause between two sends.
const PACE: Duration = Duration::from_millis(8);

/// One send and how it ended.
#[derive(Debug)]
pub(crate) struct Sent {
    /// The task's primary key.
    pub(crate) key: String,
    /// Its receipt, or why it was refused.
    pub(crate) result: Result<SendReceipt, String>,
}

/// Sends `total` tasks in the background as the test allows them.
pub(crate) struct Sender {
    budget: Arc<Semaphore>,
    completed: Arc<AtomicUsize>,
    handle: JoinHandle<Vec<Sent>>,
}

impl Sender {
    /// Starts sending nothing yet; [`Sender::allow`] opens each phase.
    pub(crate) fn start(client: Client, label: &str, total: usize) -> Sender {
        let budget = Arc::new(Semaphore::new(0));
        let permits = Arc::clone(&budget);
        let label = label.to_owned();
        let completed = Arc::new(AtomicUsize::new(0));
        let done = Arc::clone(&completed);
        let handle = tokio::spawn(async move {
            let mut pace = tokio::time::interval(PACE);
            pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut sends = JoinSet::new();
            for i in 0..total {
                permits
                    .acquire()
                    .await
                    .expect("invariant: the budget is never closed")
                    .forget();
                pace.tick().await;
                let client = client.clone();
                let done = Arc::clone(&done);
                let key = format!("{label}-{i}");
                let spec = TaskSpec::new(TASK, i.to_string().into_bytes())
                    .priority(Priority::Low)
                    .primary_key(key.clone());
                sends.spawn(async move {
                    let result = client.send_task(spec).await.map_err(|e| e.to_string());
                    done.fetch_add(1, Ordering::Relaxed);
                    Sent { key, result }
                });
            }
            sends.join_all().await
        });
        Sender {
            budget,
            completed,
            handle,
        }
    }

    /// Lets `n` more tasks be sent.
    pub(crate) fn allow(&self, n: usize) {
        self.budget.add_permits(n);
    }

    /// Waits until `n` sends in all have ended (accepted or refused).
    pub(crate) async fn wait_completed(&self, n: usize, what: &str) {
        let completed = &self.completed;
        wait_until(what, WAIT, || async move {
            completed.load(Ordering::Relaxed) >= n
        })
        .await
        .unwrap_or_else(|e| panic!("{e} ({} sends ended)", completed.load(Ordering::Relaxed)));
    }

    /// Waits for every allowed send to end (allow them all first).
    pub(crate) async fn finish(self) -> Vec<Sent> {
        self.handle.await.expect("the sender does not panic")
    }
}
