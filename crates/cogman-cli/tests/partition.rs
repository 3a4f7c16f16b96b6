//! Fault #9 of the reliability plan, a silent network partition, with real processes: a
//! `cogman worker` runs in a network namespace of its own and reaches a private RabbitMQ node
//! through a veth pair only; taking the host end of the pair down drops every packet (no RST,
//! no FIN) until it comes up again. The worker's task log is the shared PostgreSQL, reached
//! through its Unix socket (network namespaces do not separate the file system), so the
//! partition cuts the worker off from RabbitMQ alone. Needs root and `ip` (iproute2).

mod support;

use std::fs::File;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cogman::{Client, Config, Priority, TaskId, TaskSpec, TaskState};
use cogman_testkit::servers::{PrivateRabbit, SharedCleanup};
use support::{Scratch, WorkerProcess, lines, wait_for};
use tokio::runtime::Runtime;

/// The shared PostgreSQL over TCP, for the processes outside the namespace.
const POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The same server through its Unix socket, for the worker inside the namespace.
const POSTGRES_SOCKET: &str = "postgres://postgres@localhost/test?host=/var/run/postgresql";
/// iproute2.
const IP: &str = "/usr/sbin/ip";
/// AMQP heartbeat asked for by every process, in seconds.
const HEARTBEAT_SECS: u64 = 2;

/// A network namespace joined to this host by a veth pair (a /30 of 10.200.0.0/16 chosen from
/// the pid, so concurrent runs do not collide); both are deleted when dropped.
struct Partition {
    namespace: String,
    host_end: String,
    host_address: Ipv4Addr,
}

impl Partition {
    fn create() -> Partition {
        let pid = std::process::id();
        let [_, _, third, fourth] = ((pid % (1 << 14)) << 2).to_be_bytes();
        let host_address = Ipv4Addr::new(10, 200, third, fourth + 1);
        let worker_address = Ipv4Addr::new(10, 200, third, fourth + 2);
        let partition = Partition {
            namespace: format!("cogman-part-{pid}"),
            host_end: format!("cgph{pid}"),
            host_address,
        };
        // What a killed earlier run with the same pid left behind.
        partition.remove();
        let worker_end = format!("cgpw{pid}");
        let ns = partition.namespace.as_str();
        let host_cidr = format!("{host_address}/30");
        let worker_cidr = format!("{worker_address}/30");
        for args in [
            vec!["netns", "add", ns],
            vec![
                "link",
                "add",
                &partition.host_end,
                "type",
                "veth",
                "peer",
                "name",
                &worker_end,
            ],
            vec!["link", "set", &worker_end, "netns", ns],
            vec!["addr", "add", &host_cidr, "dev", &partition.host_end],
            vec!["link", "set", &partition.host_end, "up"],
            vec!["-n", ns, "addr", "add", &worker_cidr, "dev", &worker_end],
            vec!["-n", ns, "link", "set", &worker_end, "up"],
            vec!["-n", ns, "link", "set", "lo", "up"],
        ] {
            ip(&args);
        }
        partition
    }

    /// `ip netns exec NAMESPACE PROGRAM`: a command that runs inside the namespace.
    fn command(&self, program: &Path) -> Command {
        let mut command = Command::new(IP);
        command
            .args(["netns", "exec", &self.namespace])
            .arg(program);
        command
    }

    /// The partition: the host end goes down and every packet is dropped, silently.
    fn cut(&self) {
        ip(&["link", "set", &self.host_end, "down"]);
    }

    fn heal(&self) {
        ip(&["link", "set", &self.host_end, "up"]);
    }

    fn remove(&self) {
        // Deleting one end of a veth pair deletes both.
        let _ = Command::new(IP)
            .args(["link", "del", &self.host_end])
            .stderr(Stdio::null())
            .status();
        let _ = Command::new(IP)
            .args(["netns", "del", &self.namespace])
            .stderr(Stdio::null())
            .status();
    }
}

impl Drop for Partition {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Runs `ip ARGS…`, failing the test when it fails.
fn ip(args: &[&str]) {
    let output = Command::new(IP).args(args).output().expect("ip runs");
    assert!(
        output.status.success(),
        "ip {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Starts `command` (a `cogman` command line without the subcommand) as
/// `worker --concurrency 3 --handler HANDLER` with `vars`, its stderr in `log`.
fn start_worker(
    mut command: Command,
    vars: &[(&str, String)],
    handler: &str,
    log: PathBuf,
) -> WorkerProcess {
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("COGMAN_")) {
        command.env_remove(key);
    }
    command.envs(vars.iter().map(|(k, v)| (k, v))).args([
        "worker",
        "--concurrency",
        "3",
        "--handler",
        handler,
    ]);
    WorkerProcess::spawn(command, log)
}

/// The task's `success` entries in its history: (worker, result).
fn successes(runtime: &Runtime, client: &Client, id: TaskId) -> Vec<(String, String)> {
    let history = runtime
        .block_on(client.log().history(id))
        .expect("the history is readable");
    history
        .into_iter()
        .filter(|change| change.state == TaskState::Success)
        .map(|change| {
            (
                change.worker.unwrap_or_default(),
                String::from_utf8_lossy(&change.result.unwrap_or_default())
                    .trim()
                    .to_owned(),
            )
        })
        .collect()
}

fn wait_success(runtime: &Runtime, client: &Client, id: TaskId) {
    wait_for(&format!("task {id} to succeed"), || {
        let task = runtime.block_on(client.get(id)).ok().flatten()?;
        (task.status == TaskState::Success).then_some(())
    });
}

/// The pids recorded in `runs` (lines `TASK_ID PID`) for task `id`, in order.
fn runs_of(runs: &Path, id: TaskId) -> Vec<String> {
    let id = id.to_string();
    lines(runs)
        .iter()
        .filter_map(|line| line.split_once(' '))
        .filter(|(task, _)| *task == id)
        .map(|(_, pid)| pid.to_owned())
        .collect()
}

#[test]
fn a_worker_cut_off_from_rabbitmq_loses_its_tasks_to_another_then_reconnects_without_overwriting_them()
 {
    let runtime = Runtime::new().expect("a runtime");
    let partition = Partition::create();
    let rabbit = runtime
        .block_on(PrivateRabbit::start_also_on(partition.host_address.into()))
        .unwrap_or_else(|e| panic!("a private RabbitMQ node starts: {e}"));
    let name = format!(
        "part_{}",
        &TaskId::new().as_uuid().simple().to_string()[20..]
    );
    let _cleanup = SharedCleanup::new().postgres_schema(POSTGRES, &name);
    let dir = Scratch::new();
    let heartbeat = format!("?heartbeat={HEARTBEAT_SECS}");
    let host_vars = vec![
        ("COGMAN_AMQP_URI", format!("{}{heartbeat}", rabbit.uri())),
        ("COGMAN_POSTGRES_URI", POSTGRES.to_owned()),
        ("COGMAN_POSTGRES_SCHEMA", name.clone()),
    ];
    let cut_vars = vec![
        (
            "COGMAN_AMQP_URI",
            format!(
                "{}{heartbeat}",
                rabbit.uri_at(partition.host_address.into())
            ),
        ),
        ("COGMAN_POSTGRES_URI", POSTGRES_SOCKET.to_owned()),
        ("COGMAN_POSTGRES_SCHEMA", name.clone()),
        // Reconnections are logged at info.
        ("COGMAN_LOG", "info".to_owned()),
    ];
    let config = Config {
        amqp: cogman::config::AmqpConfig::new(host_vars[0].1.clone()),
        postgres: cogman::config::PostgresConfig {
            schema: name.clone(),
            ..cogman::config::PostgresConfig::new(POSTGRES)
        },
        ..Config::default()
    };
    let client = runtime
        .block_on(Client::connect(&config))
        .expect("client connects");
    let send = |i: u32| {
        runtime
            .block_on(client.send_task(TaskSpec::new("job", i.to_string())))
            .expect("the task is accepted")
            .id
    };

    let (runs, gate) = (dir.file("runs.txt"), dir.file("gate"));
    // Both record `ID PID` and return their worker's pid; the cut worker's handler holds until
    // the gate opens (or its worker is gone), so its tasks are unacked when the link goes.
    let record = format!("echo $COGMAN_TASK_ID $PPID >> {}", runs.display());
    let cogman = Path::new(env!("CARGO_BIN_EXE_cogman"));
    let mut cut = start_worker(
        partition.command(cogman),
        &cut_vars,
        &format!(
            "job={record}; while [ ! -e {g} ] && kill -0 $PPID 2>/dev/null; do sleep 0.05; done; echo $PPID",
            g = gate.display()
        ),
        dir.file("cut-worker.log"),
    );
    let (cut_id, cut_pid) = (cut.id(), cut.pid().to_string());
    let held: Vec<TaskId> = (0..3).map(send).collect();
    wait_for("the cut-to-be worker to start the three tasks", || {
        (lines(&runs).len() == 3).then_some(())
    });
    let rescuer = start_worker(
        Command::new(cogman),
        &host_vars,
        &format!("job={record}; echo $PPID"),
        dir.file("rescuer.log"),
    );
    let (rescuer_id, rescuer_pid) = (rescuer.id(), rescuer.pid().to_string());
    wait_for("both workers to consume", || {
        let stats = runtime.block_on(client.broker().queue_stats_source()?.queue_stats());
        let consumers = stats
            .ok()?
            .iter()
            .find(|q| q.priority == Some(Priority::Low))
            .and_then(|q| q.consumers);
        (consumers >= Some(2)).then_some(())
    });

    let (lost, reconnected) = (
        "RabbitMQ connection lost",
        "RabbitMQ connection re-established",
    );
    let (lost_before, reconnected_before) = (cut.log_count(lost), cut.log_count(reconnected));
    partition.cut();
    let cut_at = Instant::now();
    // When each side noticed: RabbitMQ (it requeued, the rescuer started the tasks again) and
    // the cut worker (it logged the lost connection).
    let (mut failover, mut noticed) = (None, None);
    wait_for("both sides to notice the dead link", || {
        if failover.is_none() && held.iter().all(|id| runs_of(&runs, *id).len() == 2) {
            failover = Some(cut_at.elapsed());
        }
        if noticed.is_none() && cut.log_count(lost) > lost_before {
            noticed = Some(cut_at.elapsed());
        }
        failover.zip(noticed)
    });
    let (failover, noticed) = failover.zip(noticed).expect("both noticed");
    eprintln!(
        "after the cut: RabbitMQ requeued within {failover:?}, the cut worker noticed within {noticed:?}"
    );
    for id in &held {
        assert_eq!(
            runs_of(&runs, *id),
            vec![cut_pid.clone(), rescuer_pid.clone()],
            "task {id} started on the cut worker, then again on the rescuer"
        );
        wait_success(&runtime, &client, *id);
    }
    // The cut worker's handlers finish now: their results reach the log (PostgreSQL is not
    // cut), their acks go nowhere.
    File::create(&gate).expect("open the gate");
    assert!(
        failover < Duration::from_secs(4 * HEARTBEAT_SECS),
        "RabbitMQ requeued the cut worker's deliveries within 2 × heartbeat (+ slack); took {failover:?}"
    );
    assert!(
        noticed < Duration::from_secs(4 * HEARTBEAT_SECS),
        "the cut worker noticed the dead link within 2 × heartbeat (+ slack); took {noticed:?}"
    );

    partition.heal();
    drop(rescuer);
    let healed_at = Instant::now();
    wait_for("the cut worker to reconnect", || {
        (cut.log_count(reconnected) > reconnected_before).then_some(())
    });
    eprintln!(
        "the link was down {:?}; the cut worker reconnected {:?} after it came back",
        healed_at - cut_at,
        healed_at.elapsed()
    );
    let later: Vec<TaskId> = (3..6).map(send).collect();
    for id in &later {
        wait_success(&runtime, &client, *id);
        assert_eq!(
            successes(&runtime, &client, *id),
            vec![(cut_id.clone(), cut_pid.clone())],
            "task {id}, sent after the link came back, ran once on the reconnected worker"
        );
    }
    for id in &held {
        let task = runtime
            .block_on(client.get(*id))
            .expect("the log answers")
            .expect("the task exists");
        assert_eq!(task.status, TaskState::Success, "task {id}");
        assert_eq!(
            successes(&runtime, &client, *id),
            vec![(rescuer_id.clone(), rescuer_pid.clone())],
            "task {id} has one success, the rescuer's: the cut worker's late one was refused"
        );
        assert_eq!(
            String::from_utf8_lossy(&task.result.unwrap_or_default()).trim(),
            rescuer_pid,
            "task {id} keeps the rescuer's result"
        );
    }
    assert!(cut.is_alive(), "the cut worker is still running");
    runtime.block_on(client.close());
    // Its counters: the three late successes (refused by the log, their acks lost with the
    // old connection) and the three new tasks.
    let status = cut.terminate();
    let log = cut.log();
    assert!(status.success(), "the cut worker stopped cleanly: {status}");
    assert!(
        log.contains("stopped: 6 succeeded, 0 failed, 0 retried"),
        "the cut worker settled its 3 late tasks and 3 new ones"
    );
}
