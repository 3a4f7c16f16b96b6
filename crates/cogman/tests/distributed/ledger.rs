//! [`Ledger`]: what the test handlers actually ran — every start of the [`crate::harness::TASK`]
//! handler appends the task id and primary key — independent of cogman's own task log, so
//! executions can be counted against submissions. Tasks whose primary key starts with
//! [`GATED`] stay in their handler until the test opens the gate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use cogman::{Handler, TaskContext, TaskError, TaskId, handler_fn};
use cogman_testkit::wait_until;
use tokio::sync::watch;

use crate::harness::WAIT;

/// Primary-key prefix of tasks that wait in their handler for [`Ledger::open_gate`].
pub(crate) const GATED: &str = "gated-";

/// One run: the task id and its primary key.
type Run = (TaskId, Option<String>);

/// Runs of the test handler, in start order. Cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Ledger {
    runs: Arc<Mutex<Vec<Run>>>,
    gate: Arc<watch::Sender<bool>>,
}

impl Default for Ledger {
    fn default() -> Self {
        Ledger {
            runs: Arc::default(),
            gate: Arc::new(watch::Sender::new(false)),
        }
    }
}

impl Ledger {
    /// A handler that records each run here and succeeds (gated tasks once the gate opens).
    pub(crate) fn handler(&self) -> impl Handler {
        let ledger = self.clone();
        handler_fn(move |ctx: TaskContext, _payload: Vec<u8>| {
            ledger.lock().push((ctx.task_id, ctx.primary_key.clone()));
            let gated = ctx
                .primary_key
                .as_deref()
                .is_some_and(|k| k.starts_with(GATED));
            let mut gate = ledger.gate.subscribe();
            async move {
                if gated {
                    gate.wait_for(|open| *open)
                        .await
                        .map_err(|e| TaskError::fail(e.to_string()))?;
                }
                Ok::<_, TaskError>(())
            }
        })
    }

    /// Lets gated tasks finish.
    pub(crate) fn open_gate(&self) {
        self.gate.send_replace(true);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Run>> {
        self.runs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs so far.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Runs per task id.
    pub(crate) fn runs(&self) -> HashMap<TaskId, usize> {
        let mut runs = HashMap::new();
        for (id, _) in self.lock().iter() {
            *runs.entry(*id).or_insert(0) += 1;
        }
        runs
    }

    /// True when some run carried this primary key.
    pub(crate) fn ran_key(&self, key: &str) -> bool {
        self.lock().iter().any(|(_, k)| k.as_deref() == Some(key))
    }

    /// Runs whose primary key starts with `prefix`.
    pub(crate) fn runs_with_prefix(&self, prefix: &str) -> usize {
        self.lock()
            .iter()
            .filter(|(_, k)| k.as_deref().is_some_and(|k| k.starts_with(prefix)))
            .count()
    }

    /// Waits until at least `n` runs happened.
    pub(crate) async fn wait_for(&self, n: usize, what: &str) {
        wait_until(what, WAIT, || async move { self.len() >= n })
            .await
            .unwrap_or_else(|e| panic!("{e} ({} runs)", self.len()));
    }

    /// Waits until `more` runs happened after this call.
    pub(crate) async fn wait_for_more(&self, more: usize, what: &str) {
        let target = self.len() + more;
        self.wait_for(target, what).await;
    }
}
