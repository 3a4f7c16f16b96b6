//! Measures what whole task lifecycles cost the Redis server: `tasks` tasks, each written four
//! times (create, then queued, in_progress and success, one after the other) by `callers`
//! concurrent callers sharing one `RedisLog`. Reports the wall time, writes per second, the mean
//! and worst write latency, the CPU time the Redis server used during the run (utime + stime of
//! `/proc/<pid>/stat`, the pid taken from `INFO server`, so run it on the server's host;
//! `INFO cpu` is printed next to it as a cross-check), and the memory the records hold
//! (`used_memory` before and after, with nothing else writing). Not a test: numbers depend on the
//! machine and on whoever else uses the server. Uses a scratch namespace deleted at the end:
//!
//! ```text
//! cargo run --release -p cogman-redis --example lifecycle_cpu -- \
//!     [redis-uri] [tasks] [callers] [in-flight] [payload-bytes] [unique|none]
//! ```
//!
//! Defaults: `redis://127.0.0.1:6379/0`, 20000 tasks, 64 callers, the default
//! [`GroupCommit::in_flight`] (batches sent at once), 64-byte payloads, and a unique primary
//! key per task (as `cogman bench` sends; `none` sends none). With `COGMAN_BENCH_KEEP_KEYS=1`
//! the scratch namespace is left in place (to inspect it, or to profile the run alone).

use std::time::{Duration, Instant};

use cogman_core::{StateChange, Task, TaskLog, TaskSpec, TaskState};
use cogman_redis::{GroupCommit, RedisConfig, RedisLog};
use futures::StreamExt as _;
use redis::aio::MultiplexedConnection;

/// Kernel clock ticks per second of `/proc/<pid>/stat` times (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let uri = args
        .next()
        .unwrap_or_else(|| "redis://127.0.0.1:6379/0".to_owned());
    let tasks: usize = args.next().map_or(Ok(20_000), |a| a.parse())?;
    let callers: usize = args.next().map_or(Ok(64), |a| a.parse())?;
    let in_flight: usize = args
        .next()
        .map_or(Ok(GroupCommit::default().in_flight), |a| a.parse())?;
    let payload_bytes: usize = args.next().map_or(Ok(64), |a| a.parse())?;
    let primary_keys = args.next().is_none_or(|a| a != "none");
    let namespace = format!("cogman-bench:{}", uuid::Uuid::now_v7().simple());
    let config = RedisConfig::new(uri.clone())
        .namespace(namespace.clone())
        .group_commit(GroupCommit {
            in_flight,
            ..GroupCommit::default()
        });
    let log = RedisLog::connect(config).await?;
    let mut admin = redis::Client::open(uri.as_str())?
        .get_multiplexed_async_connection()
        .await?;
    let pid = server_pid(&mut admin).await?;
    let batch: Vec<Task> = (0..tasks)
        .map(|i| {
            let spec = TaskSpec::new("bench", vec![7; payload_bytes]);
            let spec = if primary_keys {
                spec.primary_key(format!("bench-{i}"))
            } else {
                spec
            };
            Task::from_spec(spec, chrono::Utc::now())
        })
        .collect();

    let memory_before = info_number(&mut admin, "memory", "used_memory").await?;
    let (proc_before, info_before) = (proc_cpu_seconds(pid)?, info_cpu_seconds(&mut admin).await?);
    let started = Instant::now();
    let latencies: Vec<Duration> = futures::stream::iter(&batch)
        .map(|task| lifecycle(&log, task))
        .buffer_unordered(callers)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .flatten()
        .collect();
    let wall = started.elapsed();
    let (proc_after, info_after) = (proc_cpu_seconds(pid)?, info_cpu_seconds(&mut admin).await?);
    let memory_after = info_number(&mut admin, "memory", "used_memory").await?;

    let writes = latencies.len();
    let redis_cpu = proc_after - proc_before;
    let mean = latencies.iter().sum::<Duration>() / u32::try_from(writes.max(1))?;
    let worst = latencies.iter().max().copied().unwrap_or_default();
    println!(
        "{tasks} tasks x 4 writes, {callers} callers, {in_flight} batches in flight, {payload_bytes}-byte payloads, primary keys: {primary_keys}, redis pid {pid}"
    );
    println!(
        "wall {:.2} s, {:.0} writes/s, write latency mean {:.2} ms, max {:.1} ms",
        wall.as_secs_f64(),
        writes as f64 / wall.as_secs_f64(),
        mean.as_secs_f64() * 1e3,
        worst.as_secs_f64() * 1e3,
    );
    println!(
        "redis-server CPU {redis_cpu:.2} s (/proc), {:.2} s (INFO cpu); {:.1} us per task, {:.1} us per write",
        info_after - info_before,
        redis_cpu * 1e6 / tasks as f64,
        redis_cpu * 1e6 / writes as f64,
    );
    println!(
        "redis memory {:.0} bytes per task",
        (memory_after - memory_before) / tasks as f64
    );
    if std::env::var_os("COGMAN_BENCH_KEEP_KEYS").is_some_and(|v| v == "1") {
        println!("kept namespace {namespace}");
    } else {
        drop(cogman_testkit::servers::SharedCleanup::new().redis_namespace(&uri, &namespace));
    }
    Ok(())
}

/// Creates `task` and records its three changes in turn; returns each write's latency.
async fn lifecycle(
    log: &RedisLog,
    task: &Task,
) -> Result<Vec<Duration>, cogman_core::TaskLogError> {
    let mut latencies = Vec::with_capacity(4);
    let started = Instant::now();
    log.create(task).await?;
    latencies.push(started.elapsed());
    for state in [TaskState::Queued, TaskState::InProgress, TaskState::Success] {
        let mut change = StateChange::new(task.id, state).worker("bench-worker");
        if state == TaskState::Success {
            change = change
                .result(Some(b"{\"ok\":true}".to_vec()))
                .duration(Duration::from_millis(3));
        }
        let started = Instant::now();
        log.record(&change).await?;
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}

/// The server's pid, from `INFO server`.
async fn server_pid(admin: &mut MultiplexedConnection) -> Result<u32, Box<dyn std::error::Error>> {
    let info: String = redis::cmd("INFO").arg("server").query_async(admin).await?;
    Ok(info_field(&info, "process_id")
        .ok_or("INFO server has no process_id")?
        .parse()?)
}

/// utime + stime of process `pid`, in seconds.
fn proc_cpu_seconds(pid: u32) -> Result<f64, Box<dyn std::error::Error>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after_name = stat.rsplit_once(')').ok_or("malformed /proc stat")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| -> Result<f64, Box<dyn std::error::Error>> {
        Ok(fields.get(i).ok_or("short /proc stat")?.parse::<f64>()?)
    };
    Ok((ticks(11)? + ticks(12)?) / TICKS_PER_SECOND)
}

/// used_cpu_user + used_cpu_sys of `INFO cpu`, in seconds.
async fn info_cpu_seconds(
    admin: &mut MultiplexedConnection,
) -> Result<f64, Box<dyn std::error::Error>> {
    Ok(info_number(admin, "cpu", "used_cpu_user").await?
        + info_number(admin, "cpu", "used_cpu_sys").await?)
}

/// The number `name` of the `INFO` section `section`.
async fn info_number(
    admin: &mut MultiplexedConnection,
    section: &str,
    name: &str,
) -> Result<f64, Box<dyn std::error::Error>> {
    let info: String = redis::cmd("INFO").arg(section).query_async(admin).await?;
    Ok(info_field(&info, name)
        .ok_or_else(|| format!("INFO {section} has no {name}"))?
        .parse()?)
}

/// The value of `name` in an `INFO` reply.
fn info_field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}
