//! [`ProcessGroup`]: the process group a handler command runs in (its `sh` leads it), stopped
//! as a whole — SIGTERM, then SIGKILL after a grace period — and SIGKILLed when dropped before
//! it was seen empty, so no process of a handler outlives its attempt.

use std::time::Duration;

use rustix::io::Errno;
use rustix::process::{Pid, Signal, kill_process_group, test_kill_process_group};
use tokio::process::Child;
use tokio::time::Instant;

/// How often a stopping group is checked for processes left.
const POLL: Duration = Duration::from_millis(20);
/// How long processes sent SIGKILL get to disappear (they cannot refuse; this bounds a process
/// stuck in the kernel).
const KILL_WAIT: Duration = Duration::from_secs(2);

/// The process group led by a handler's `sh` (spawned with `process_group(0)`, so its id is
/// the leader's pid).
#[derive(Debug)]
pub(super) struct ProcessGroup {
    id: Pid,
    /// False once the group was seen empty: nothing left to signal (and its id may be reused).
    live: bool,
}

impl ProcessGroup {
    /// The group `leader` leads; `None` when the leader was already reaped.
    pub(super) fn led_by(leader: &Child) -> Option<ProcessGroup> {
        let pid = leader.id().and_then(|id| i32::try_from(id).ok())?;
        Some(ProcessGroup {
            id: Pid::from_raw(pid)?,
            live: true,
        })
    }

    /// The group's id (the leader's pid).
    pub(super) fn id(&self) -> i32 {
        self.id.as_raw_nonzero().get()
    }

    /// Stops every process left in the group: SIGTERM, then SIGKILL when some are still there
    /// after `grace`. Reaps `leader` on the way (a zombie leader still counts as a member).
    /// Returns once the group is empty, or [`KILL_WAIT`] after the SIGKILL.
    pub(super) async fn stop(&mut self, leader: &mut Child, grace: Duration) {
        if !self.live {
            return;
        }
        if !self.signal(Signal::TERM) {
            self.live = false;
            return;
        }
        if self.wait_empty(leader, grace).await {
            return;
        }
        tracing::warn!(
            group = self.id(),
            ?grace,
            "handler processes ignored SIGTERM; sending SIGKILL"
        );
        self.signal(Signal::KILL);
        if !self.wait_empty(leader, KILL_WAIT).await {
            tracing::error!(group = self.id(), "handler processes survived SIGKILL");
        }
    }

    /// Sends `signal` to the group; false when no process is left in it.
    fn signal(&self, signal: Signal) -> bool {
        // ESRCH: no process in the group. Any other error (EPERM: a member changed its user)
        // leaves the group counted as live.
        kill_process_group(self.id, signal) != Err(Errno::SRCH)
    }

    /// Waits up to `limit` for the group to empty, reaping the leader; true when it did.
    async fn wait_empty(&mut self, leader: &mut Child, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let _ = leader.try_wait();
            if test_kill_process_group(self.id) == Err(Errno::SRCH) {
                self.live = false;
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for ProcessGroup {
    /// The handler was dropped mid-run (the worker's kill grace ran out): nothing of it may
    /// keep running.
    fn drop(&mut self) {
        if self.live {
            self.signal(Signal::KILL);
        }
    }
}
