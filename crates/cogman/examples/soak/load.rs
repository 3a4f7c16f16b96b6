//! The load of the soak: [`Sender`], a client sending tasks at a steady pace until told to
//! stop, and [`Ledger`], the runs the workers' handler actually made (independent of cogman's
//! own task log), so runs can be counted against accepted sends.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use cogman::{
    Client, Error, Handler, Priority, TaskContext, TaskError, TaskId, TaskSpec, handler_fn,
};
use tokio::task::{JoinHandle, JoinSet};
use tokio_util::sync::CancellationToken;

/// The task name the soak's handler is registered under.
pub(crate) const TASK: &str = "soak.count";

/// How long the handler "works", so some tasks are in flight when a fault hits.
const WORK: Duration = Duration::from_millis(5);

/// How many characters of a refusal's message name its reason.
const REASON_CHARS: usize = 90;

/// Handler runs per task id. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub(crate) struct Ledger {
    runs: Arc<Mutex<HashMap<TaskId, u32>>>,
}

impl Ledger {
    /// A handler that records each run here and succeeds after a little work.
    pub(crate) fn handler(&self) -> impl Handler {
        let ledger = self.clone();
        handler_fn(move |ctx: TaskContext, _payload: Vec<u8>| {
            *ledger.lock().entry(ctx.task_id).or_insert(0) += 1;
            async move {
                tokio::time::sleep(WORK).await;
                Ok::<_, TaskError>(())
            }
        })
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<TaskId, u32>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A copy of the runs per task id.
    pub(crate) fn runs(&self) -> HashMap<TaskId, u32> {
        self.lock().clone()
    }

    /// "N tasks ran (M runs)".
    pub(crate) fn summary(&self) -> String {
        let runs = self.lock();
        let total: u64 = runs.values().map(|n| u64::from(*n)).sum();
        format!("{} tasks ran ({total} runs)", runs.len())
    }
}

/// How one send ended: the accepted task's id, or the reason it was refused.
pub(crate) type Sent = Result<TaskId, String>;

/// A client sending tasks in the background at a steady pace.
pub(crate) struct Sender {
    stop: CancellationToken,
    handle: JoinHandle<Vec<Sent>>,
}

impl Sender {
    /// Starts sending `per_second` tasks a second (each send runs on its own, so a send held
    /// up by a fault does not slow the pace).
    pub(crate) fn start(client: Client, per_second: f64) -> Sender {
        let stop = CancellationToken::new();
        let stopped = stop.clone();
        let handle = tokio::spawn(async move {
            let mut pace = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second));
            pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut sends = JoinSet::new();
            let mut ended = Vec::new();
            for i in 0u64.. {
                tokio::select! {
                    () = stopped.cancelled() => break,
                    _ = pace.tick() => {}
                }
                let client = client.clone();
                let spec = TaskSpec::new(TASK, i.to_string().into_bytes())
                    .priority(Priority::Low)
                    .primary_key(format!("soak-{i}"));
                sends.spawn(async move {
                    client
                        .send_task(spec)
                        .await
                        .map(|receipt| receipt.id)
                        .map_err(|e| reason(&e))
                });
                while let Some(done) = sends.try_join_next() {
                    ended.push(done.unwrap_or_else(|e| Err(format!("send task failed: {e}"))));
                }
            }
            while let Some(done) = sends.join_next().await {
                ended.push(done.unwrap_or_else(|e| Err(format!("send task failed: {e}"))));
            }
            ended
        });
        Sender { stop, handle }
    }

    /// Stops sending and returns how every send ended.
    pub(crate) async fn finish(self) -> Vec<Sent> {
        self.stop.cancel();
        self.handle
            .await
            .unwrap_or_else(|e| vec![Err(format!("the sender failed: {e}"))])
    }
}

/// The reason of a refusal: the kind of error and the start of its message.
fn reason(error: &Error) -> String {
    let kind = match error {
        Error::Broker(_) => "broker",
        Error::TaskLog(_) => "task log",
        Error::Validation(_) => "validation",
        Error::Backend { .. } => "backend",
        _ => "other",
    };
    let message: String = error.to_string().chars().take(REASON_CHARS).collect();
    format!("{kind}: {message}")
}
