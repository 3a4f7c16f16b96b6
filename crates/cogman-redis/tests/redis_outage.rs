//! Outage resilience without disturbing the shared server: this test binary kills only its
//! own process's Redis connections (`CLIENT KILL ID`, found by matching `CLIENT LIST`
//! addresses to the sockets this process owns) again and again while writes run, and checks
//! that every write lands and no task ever goes backwards.

mod support;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use cogman_testkit::stress;

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

    let kills = stress::lifecycles_survive_faults(Arc::new(log), 240, 10, 60, async || {
        kill_own_connections(&mut admin, admin_id).await
    })
    .await;
    eprintln!("killed {kills} connections during the run");
    assert!(
        kills >= 3,
        "connections were killed during the run: {kills}"
    );
}
