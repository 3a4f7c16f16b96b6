//! Outage resilience without disturbing the shared server: this test binary kills only its
//! own process's Redis connections (`CLIENT KILL ID`, found by matching `CLIENT LIST`
//! addresses to the sockets this process owns) again and again while writes run, and checks
//! that every write lands and no task ever goes backwards.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cogman_core::{RecordOutcome, StateChange, TaskLog, TaskState};
use cogman_testkit::sample;

/// Local ports of this process's TCP sockets connected to port 6379.
fn own_redis_ports() -> HashSet<u16> {
    let mut inodes = HashSet::new();
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        for fd in fds.flatten() {
            if let Ok(target) = std::fs::read_link(fd.path()) {
                let target = target.to_string_lossy().into_owned();
                if let Some(inode) = target
                    .strip_prefix("socket:[")
                    .and_then(|s| s.strip_suffix(']'))
                {
                    inodes.insert(inode.to_owned());
                }
            }
        }
    }
    let mut ports = HashSet::new();
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 10 || !inodes.contains(cols[9]) {
                continue;
            }
            let port = |addr: &str| {
                addr.rsplit(':')
                    .next()
                    .and_then(|p| u16::from_str_radix(p, 16).ok())
            };
            if port(cols[2]) == Some(6379)
                && let Some(local) = port(cols[1])
            {
                ports.insert(local);
            }
        }
    }
    ports
}

/// Kills this process's Redis connections except `admin`'s own; returns how many.
async fn kill_own_connections(
    admin: &mut redis::aio::MultiplexedConnection,
    admin_id: i64,
) -> usize {
    let ports = own_redis_ports();
    let list: String = redis::cmd("CLIENT")
        .arg("LIST")
        .query_async(admin)
        .await
        .expect("client list");
    let mut killed = 0;
    for line in list.lines() {
        let fields: HashMap<&str, &str> =
            line.split(' ').filter_map(|f| f.split_once('=')).collect();
        let (Some(id), Some(addr)) = (fields.get("id"), fields.get("addr")) else {
            continue;
        };
        let Ok(id) = id.parse::<i64>() else { continue };
        let port = addr.rsplit(':').next().and_then(|p| p.parse::<u16>().ok());
        if id != admin_id && port.is_some_and(|p| ports.contains(&p)) {
            let n: i64 = redis::cmd("CLIENT")
                .arg("KILL")
                .arg("ID")
                .arg(id)
                .query_async(admin)
                .await
                .unwrap_or(0);
            killed += usize::try_from(n).unwrap_or(0);
        }
    }
    killed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_land_while_connections_are_killed() {
    let (log, _guard) = support::fresh_log("outage").await;
    let mut admin = support::admin().await;
    let admin_id: i64 = redis::cmd("CLIENT")
        .arg("ID")
        .query_async(&mut admin)
        .await
        .expect("client id");
    redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("cogman-redis-outage-test-admin")
        .query_async::<()>(&mut admin)
        .await
        .expect("setname");

    let tasks: Vec<_> = (0..240).map(|_| sample::task("redis.outage")).collect();
    for task in &tasks {
        log.create(task).await.expect("create");
    }
    let done = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicUsize::new(0));
    let progress = Arc::new(AtomicUsize::new(0));
    // Kills every connection of this process after every 60 writes, so faults are spread
    // over the whole run.
    let killer = {
        let (done, kills, progress) =
            (Arc::clone(&done), Arc::clone(&kills), Arc::clone(&progress));
        tokio::spawn(async move {
            let mut next = 60;
            while !done.load(Ordering::Acquire) {
                if progress.load(Ordering::Acquire) >= next {
                    next += 60;
                    kills.fetch_add(
                        kill_own_connections(&mut admin, admin_id).await,
                        Ordering::AcqRel,
                    );
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    let mut writers = tokio::task::JoinSet::new();
    for chunk in tasks.chunks(24) {
        let (log, chunk, progress) = (log.clone(), chunk.to_vec(), Arc::clone(&progress));
        writers.spawn(async move {
            let mut last_seen: HashMap<_, u8> = HashMap::new();
            for task in &chunk {
                for state in [TaskState::Queued, TaskState::InProgress, TaskState::Success] {
                    let outcome = log
                        .record(&StateChange::new(task.id, state))
                        .await
                        .unwrap_or_else(|e| panic!("record {state} of {} failed: {e}", task.id));
                    // A retry of a write whose reply was lost finds it already applied.
                    assert!(
                        matches!(outcome, RecordOutcome::Applied | RecordOutcome::Unchanged),
                        "{outcome:?}"
                    );
                    let stored = log.get(task.id).await.expect("get").expect("exists");
                    let before = last_seen.insert(task.id, stored.status.rank()).unwrap_or(0);
                    assert!(stored.status.rank() >= before, "went backwards");
                    assert_eq!(stored.status, state);
                    progress.fetch_add(1, Ordering::AcqRel);
                }
            }
        });
    }
    while let Some(joined) = writers.join_next().await {
        joined.expect("writer");
    }
    done.store(true, Ordering::Release);
    killer.await.expect("killer");
    let kills = kills.load(Ordering::Acquire);
    eprintln!("killed {kills} connections during the run");
    assert!(
        kills >= 3,
        "connections were killed during the run: {kills}"
    );
    for task in &tasks {
        let stored = log.get(task.id).await.expect("get").expect("exists");
        assert_eq!(stored.status, TaskState::Success);
        let states: Vec<_> = log
            .history(task.id)
            .await
            .expect("history")
            .iter()
            .map(|c| c.state)
            .collect();
        assert_eq!(
            states,
            [
                TaskState::Initiated,
                TaskState::Queued,
                TaskState::InProgress,
                TaskState::Success
            ],
            "each change applied exactly once"
        );
    }
}
