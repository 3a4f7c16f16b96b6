//! The verdict of the soak: waiting until every accepted task is `success` in PostgreSQL,
//! the checker summary (no loss, duplicates counted) and process samples (memory, fds).

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use cogman::{Config, StatsSnapshot, TaskId, TaskLog as _, TaskState};
use cogman_postgres::{PostgresConfig, PostgresLog};
use tokio::time::Instant;

use crate::load::{Ledger, Sent};
use crate::say;

/// How long the drain may take before the tasks not yet successful count as lost.
const DRAIN: Duration = Duration::from_secs(120);

/// How long opening the log or one read may take before it counts as hung.
const STEP: Duration = Duration::from_secs(10);

/// Pause between two passes over the tasks not yet successful.
const POLL: Duration = Duration::from_millis(500);

/// Memory and open files of this process at one moment.
pub(crate) struct Sample {
    label: &'static str,
    rss_kib: u64,
    hwm_kib: u64,
    fds: usize,
    /// Established TCP connections per server (name, count).
    connections: Vec<(&'static str, usize)>,
}

impl Sample {
    /// Reads `/proc/self/status` (VmRSS, VmHWM), counts `/proc/self/fd` and this process's
    /// established connections to each of `servers` (name, port).
    pub(crate) fn take(label: &'static str, servers: &[(&'static str, u16)]) -> Sample {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(key))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        Sample {
            label,
            rss_kib: kib("VmRSS:"),
            hwm_kib: kib("VmHWM:"),
            fds: std::fs::read_dir("/proc/self/fd").map_or(0, Iterator::count),
            connections: connections(servers),
        }
    }
}

impl std::fmt::Display for Sample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<5} VmRSS {:>7} KiB  VmHWM {:>7} KiB  fds {:>4}  connections",
            self.label, self.rss_kib, self.hwm_kib, self.fds
        )?;
        for (name, n) in &self.connections {
            write!(f, " {name} {n}")?;
        }
        Ok(())
    }
}

/// Counts this process's established TCP connections to each server: the socket inodes of
/// `/proc/self/fd` matched against the kernel's table (`/proc/net/tcp`).
fn connections(servers: &[(&'static str, u16)]) -> Vec<(&'static str, usize)> {
    /// `st` of an established socket in `/proc/net/tcp`.
    const ESTABLISHED: &str = "01";
    let ours: HashSet<String> = std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|link| {
            let link = link.to_string_lossy().into_owned();
            Some(link.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let mut remote_ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(remote), Some(state), Some(inode)) =
                (fields.get(2), fields.get(3), fields.get(9))
            else {
                continue;
            };
            if *state == ESTABLISHED && ours.contains(*inode) {
                let port = remote
                    .rsplit_once(':')
                    .and_then(|(_, hex)| u16::from_str_radix(hex, 16).ok());
                remote_ports.extend(port);
            }
        }
    }
    servers
        .iter()
        .map(|(name, port)| (*name, remote_ports.iter().filter(|p| *p == port).count()))
        .collect()
}

/// The accepted tasks and those of them not `success` in PostgreSQL when the drain ended.
pub(crate) struct Check {
    accepted: Vec<TaskId>,
    lost: Vec<TaskId>,
    drained_in: Duration,
}

/// Waits (up to [`DRAIN`]) until every accepted send is `success` in the durable log.
pub(crate) async fn check(
    config: &Config,
    sent: &[Sent],
    ledger: &Ledger,
    start: Instant,
) -> Result<Check, String> {
    let accepted: Vec<TaskId> = sent
        .iter()
        .filter_map(|s| s.as_ref().ok().copied())
        .collect();
    let uri = config.postgres.uri.clone().unwrap_or_default();
    let opening =
        PostgresLog::connect(PostgresConfig::new(uri).schema(config.postgres.schema.clone()));
    let durable = tokio::time::timeout(STEP, opening)
        .await
        .map_err(|_| format!("opening the PostgreSQL log hung for {STEP:?}"))?
        .map_err(|e| format!("opening the PostgreSQL log: {e}"))?;
    say(
        start,
        format!("checking {} accepted tasks in PostgreSQL", accepted.len()),
    );
    let began = Instant::now();
    let mut pending: HashSet<TaskId> = accepted.iter().copied().collect();
    let mut last_report = began;
    while !pending.is_empty() && began.elapsed() < DRAIN {
        let mut done = Vec::new();
        for id in &pending {
            match tokio::time::timeout(STEP, durable.get(*id)).await {
                Ok(Ok(Some(task))) if task.status == TaskState::Success => done.push(*id),
                Ok(_) => {}
                Err(_) => say(
                    start,
                    format!("reading {id} from PostgreSQL hung for {STEP:?}"),
                ),
            }
        }
        for id in done {
            pending.remove(&id);
        }
        if last_report.elapsed() >= Duration::from_secs(10) {
            last_report = Instant::now();
            say(
                start,
                format!(
                    "draining: {} not yet success in PostgreSQL; {}",
                    pending.len(),
                    ledger.summary()
                ),
            );
        }
        if !pending.is_empty() {
            tokio::time::sleep(POLL).await;
        }
    }
    let mut lost: Vec<TaskId> = pending.into_iter().collect();
    lost.sort_by_key(|id| id.to_string());
    for id in lost.iter().take(10) {
        let state = durable
            .get(*id)
            .await
            .map(|t| t.map(|t| (t.status, t.attempt)));
        println!("  not successful: {id}: {state:?}");
    }
    Ok(Check {
        accepted,
        lost,
        drained_in: began.elapsed(),
    })
}

/// Prints the checker summary; true when it is clean.
pub(crate) fn print(
    check: &Check,
    sent: &[Sent],
    ledger: &Ledger,
    stats: &[StatsSnapshot],
    samples: &[Sample],
) -> bool {
    let runs = ledger.runs();
    let accepted: HashSet<TaskId> = check.accepted.iter().copied().collect();
    let mut refused: BTreeMap<&str, usize> = BTreeMap::new();
    for reason in sent.iter().filter_map(|s| s.as_ref().err()) {
        *refused.entry(reason.as_str()).or_insert(0) += 1;
    }
    let total_runs: u64 = runs.values().map(|n| u64::from(*n)).sum();
    let twice = runs.values().filter(|n| **n > 1).count();
    let extra: u64 = runs.values().map(|n| u64::from(n - 1)).sum();
    let counted: u64 = stats.iter().map(|s| s.duplicates).sum();
    let never_ran = check
        .accepted
        .iter()
        .filter(|id| !runs.contains_key(id))
        .count();
    let unexpected = runs.keys().filter(|id| !accepted.contains(id)).count();
    let sum = |f: fn(&StatsSnapshot) -> u64| stats.iter().map(f).sum::<u64>();

    println!("==== soak summary ====");
    println!("sent      {}", sent.len());
    println!("accepted  {}", check.accepted.len());
    println!("refused   {}", sent.len() - check.accepted.len());
    for (reason, n) in &refused {
        println!("  {n:>6}  {reason}");
    }
    println!("runs      {total_runs} (of {} distinct tasks)", runs.len());
    println!(
        "ran >1    {twice} tasks, {extra} extra runs; the workers counted {counted} duplicates"
    );
    println!(
        "workers   {} stats: succeeded {}, failed {}, retried {}, errors {}",
        stats.len(),
        sum(|s| s.succeeded),
        sum(|s| s.failed),
        sum(|s| s.retried),
        sum(|s| s.errors)
    );
    println!("never ran {never_ran} accepted tasks; ran though not accepted: {unexpected}");
    println!(
        "lost      {} (accepted, not success in PostgreSQL after a {:.1?} drain)",
        check.lost.len(),
        check.drained_in
    );
    for sample in samples {
        println!("process   {sample}");
    }
    let clean = check.lost.is_empty() && unexpected == 0 && extra <= counted;
    println!("checker   {}", if clean { "CLEAN" } else { "NOT CLEAN" });
    clean
}
