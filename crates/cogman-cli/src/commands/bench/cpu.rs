//! CPU time per task, per process: this process (the bench client, workers included, or the
//! baseline's client) from `CLOCK_PROCESS_CPUTIME_ID`, and the servers it talks to on this
//! machine — RabbitMQ (`beam.smp`), Redis (`redis-server`), PostgreSQL (the postmaster and every
//! child) — from `/proc/<pid>/stat` (user + system time, plus the time of exited children).
//! A server is found by the process listening on the port of its URI (or, when this user may
//! not read that process's descriptors, by its name if only one such process tree exists); a
//! server on another machine, or not found, is left out.

use std::collections::HashSet;
use std::fs;
use std::time::Duration;

use rustix::time::{ClockId, clock_gettime};

/// A server whose CPU time is read.
#[derive(Debug, Clone)]
pub(super) struct Server {
    /// What the report calls it.
    pub(super) label: &'static str,
    /// The process listening on its port.
    pid: u32,
    /// Whether its children count too (PostgreSQL's backends are children of the postmaster).
    with_children: bool,
}

/// A server to look for: its label, process name, and the port its URI names.
pub(super) struct Wanted {
    pub(super) label: &'static str,
    pub(super) process: &'static str,
    pub(super) port: u16,
    pub(super) with_children: bool,
}

/// Finds each wanted server among this machine's processes; the ones not found are left out.
pub(super) fn discover(wanted: &[Wanted]) -> Vec<Server> {
    let listening = listening_inodes();
    wanted
        .iter()
        .filter_map(|w| {
            let inodes: HashSet<u64> = listening
                .iter()
                .filter(|(port, _)| *port == w.port)
                .map(|(_, inode)| *inode)
                .collect();
            if inodes.is_empty() {
                return None;
            }
            let named: Vec<u32> = pids()
                .filter(|pid| comm(*pid).as_deref() == Some(w.process))
                .collect();
            let owner = named
                .iter()
                .copied()
                .find(|pid| owns_any_socket(*pid, &inodes));
            // Without the right to read other users' descriptors: the one process of that
            // name whose parent has another name, if there is exactly one.
            let pid = owner.or_else(|| only_root(&named))?;
            Some(Server {
                label: w.label,
                pid,
                with_children: w.with_children,
            })
        })
        .collect()
}

/// The only process of `named` whose parent is not in `named`, if there is exactly one.
fn only_root(named: &[u32]) -> Option<u32> {
    let mut roots = named
        .iter()
        .copied()
        .filter(|pid| parent(*pid).is_none_or(|p| !named.contains(&p)));
    let root = roots.next()?;
    roots.next().is_none().then_some(root)
}

/// CPU time used so far by this process and by each server.
#[derive(Debug, Clone)]
pub(super) struct Sample {
    this_process: Duration,
    servers: Vec<(&'static str, Duration)>,
}

impl Sample {
    /// Reads the clocks now.
    pub(super) fn take(servers: &[Server]) -> Sample {
        let ticks = rustix::param::clock_ticks_per_second().max(1);
        Sample {
            this_process: this_process_cpu(),
            servers: servers
                .iter()
                .map(|s| {
                    let used = server_ticks(s);
                    (s.label, Duration::from_secs_f64(used as f64 / ticks as f64))
                })
                .collect(),
        }
    }

    /// Microseconds of CPU per task between `earlier` and this sample, for `tasks` tasks:
    /// this process first, then each server.
    pub(super) fn per_task_since(&self, earlier: &Sample, tasks: usize) -> Vec<(String, f64)> {
        let per_task = |d: Duration| d.as_secs_f64() * 1e6 / tasks.max(1) as f64;
        let mut split = vec![(
            "this process".to_owned(),
            per_task(self.this_process.saturating_sub(earlier.this_process)),
        )];
        for ((label, now), (_, then)) in self.servers.iter().zip(&earlier.servers) {
            split.push(((*label).to_owned(), per_task(now.saturating_sub(*then))));
        }
        split
    }
}

fn this_process_cpu() -> Duration {
    let spent = clock_gettime(ClockId::ProcessCPUTime);
    Duration::new(
        u64::try_from(spent.tv_sec).unwrap_or(0),
        u32::try_from(spent.tv_nsec).unwrap_or(0),
    )
}

/// The server's user + system ticks, with its exited children's; with its live children's too
/// when it has to. A child that exits between two samples moves from its own line to its
/// parent's children fields, so the sum stays continuous.
fn server_ticks(server: &Server) -> u64 {
    let mut total = stat_ticks(server.pid).unwrap_or(0);
    if server.with_children {
        total += pids()
            .filter(|pid| parent(*pid) == Some(server.pid))
            .filter_map(stat_ticks)
            .sum::<u64>();
    }
    total
}

/// The fields of `/proc/<pid>/stat` after the command name (which may contain spaces).
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    Some(after_name.split_whitespace().map(str::to_owned).collect())
}

/// utime + stime + cutime + cstime (fields 14-17 of `stat`, 12-15 after the name).
fn stat_ticks(pid: u32) -> Option<u64> {
    let fields = stat_fields(pid)?;
    fields
        .get(11..15)?
        .iter()
        .map(|f| f.parse::<u64>().ok())
        .sum()
}

/// The parent pid (field 4 of `stat`).
fn parent(pid: u32) -> Option<u32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

fn comm(pid: u32) -> Option<String> {
    fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|c| c.trim().to_owned())
}

fn pids() -> impl Iterator<Item = u32> {
    fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
}

/// `(port, socket inode)` of every TCP socket listening on this machine.
fn listening_inodes() -> Vec<(u16, u64)> {
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|path| fs::read_to_string(path).ok())
        .flat_map(|table| {
            table
                .lines()
                .skip(1)
                .filter_map(parse_listening)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// One line of `/proc/net/tcp`: `sl local rem st … uid timeout inode`; `st` 0A is LISTEN.
fn parse_listening(line: &str) -> Option<(u16, u64)> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    if fields.get(3) != Some(&"0A") {
        return None;
    }
    let port = u16::from_str_radix(fields.get(1)?.rsplit(':').next()?, 16).ok()?;
    let inode = fields.get(9)?.parse().ok()?;
    Some((port, inode))
}

fn owns_any_socket(pid: u32, inodes: &HashSet<u64>) -> bool {
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.filter_map(Result::ok).any(|fd| {
        fs::read_link(fd.path()).ok().is_some_and(|target| {
            target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse().ok())
                .is_some_and(|inode| inodes.contains(&inode))
        })
    })
}

/// The port of a URI like `scheme://user:pass@host:port/path`, or `default` when it names none.
pub(super) fn uri_port(uri: &str, default: u16) -> u16 {
    let rest = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, hp)| hp);
    let port = match host_port.rsplit_once(']') {
        Some((_, after)) => after.strip_prefix(':'),
        None => host_port.rsplit_once(':').map(|(_, p)| p),
    };
    port.and_then(|p| p.parse().ok()).unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_come_from_the_uri_or_the_default() {
        assert_eq!(
            uri_port("amqp://guest:guest@127.0.0.1:5673/%2f", 5672),
            5673
        );
        assert_eq!(uri_port("redis://127.0.0.1/", 6379), 6379);
        assert_eq!(uri_port("postgres://postgres@[::1]:5433/test", 5432), 5433);
        assert_eq!(
            uri_port("postgres://u:p@host/db?sslmode=disable", 5432),
            5432
        );
    }

    #[test]
    fn listening_lines_are_parsed() {
        let line = "   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   \
                    107        0 31337 1 0000000000000000 100 0 0 10 0";
        assert_eq!(parse_listening(line), Some((5432, 31337)));
        let established = line.replace(" 0A ", " 01 ");
        assert_eq!(parse_listening(&established), None);
    }

    #[test]
    fn this_process_cpu_grows_while_it_works() {
        let before = Sample::take(&[]);
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let split = Sample::take(&[]).per_task_since(&before, 1);
        assert_eq!(split[0].0, "this process");
        assert!(split[0].1 > 0.0, "{split:?}");
    }
}
