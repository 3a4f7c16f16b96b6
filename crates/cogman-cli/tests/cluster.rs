//! `cogman` processes on a local 3-node RabbitMQ cluster (testkit `RabbitCluster`: private
//! nodes, no Docker) with quorum queues and the shared Redis as the task log. Every process is
//! given the URIs of all three nodes (`--amqp A,B,C`, rotated so they prefer different nodes)
//! and fails over when the node it uses goes away. What each test proves is listed in
//! `docs/reliability.md`.

mod support;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Write as _;
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};

use cogman::TaskId;
use cogman_testkit::servers::{PrivateRabbit, RabbitCluster};
use support::{Dist, WorkerProcess, lines, wait_for};

/// A runtime for the testkit's async server control, from these sync tests.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("a runtime")
}

/// A 3-node cluster and a test setup on it with quorum queues.
fn quorum_cluster(rt: &tokio::runtime::Runtime, label: &str) -> (RabbitCluster, Dist) {
    let cluster = rt
        .block_on(RabbitCluster::start())
        .expect("a 3-node RabbitMQ cluster");
    let mut dist =
        Dist::on_broker(label, &cluster.uris_from(0)).var("COGMAN_AMQP_QUEUE_TYPE", "quorum");
    // The library client the test reads the log with declares the same queues.
    dist.config.amqp.queue_type = cogman_amqp::QueueType::Quorum;
    (cluster, dist)
}

/// A handler that appends the task's id to `runs`, so every execution is counted outside
/// cogman.
fn counting_handler(runs: &Path) -> String {
    format!("job=echo $COGMAN_TASK_ID >> {}", runs.display())
}

#[test]
fn worker_and_send_fail_over_to_another_node_when_theirs_stops() {
    let rt = runtime();
    let (cluster, dist) = quorum_cluster(&rt, "failover");
    let runs = dist.file("runs.txt");
    // Both the worker and every `cogman send` prefer node A (first in the list).
    let mut worker = dist.worker(&counting_handler(&runs), &[]);
    let before = dist.send(&["job", "--payload", "before"]);
    dist.wait_success(&before);

    rt.block_on(cluster.nodes()[0].stop_app())
        .expect("stop node A's app");
    // A new `cogman send` finds A refusing and sends through B or C; the worker lost its
    // connection to A and consumes from B or C.
    let after = dist.send(&["job", "--payload", "after"]);
    dist.wait_success(&after);

    assert_eq!(
        lines(&runs),
        vec![before, after],
        "each task ran once, the second after node A stopped"
    );
    // The one worker ran `after`: it consumed from B or C once A was gone.
    assert!(worker.is_alive(), "the worker survived its node's loss");
    let log = worker.log();
    assert!(
        log.contains("RabbitMQ connection lost"),
        "the worker was on node A and lost it: {log}"
    );
}

/// A client process: `cogman send job --each-line …` preferring one node, its ids (one line
/// per send that returned Ok) in a file.
struct ClientProcess {
    child: Child,
    ids: std::path::PathBuf,
}

impl ClientProcess {
    /// Sends one task per line of `payloads` (`-`: what the test writes to its stdin).
    fn spawn(dist: &Dist, amqp: &str, n: usize, payloads: &str) -> ClientProcess {
        let ids = dist.file(&format!("client-{n}.ids"));
        let child = dist
            .cogman()
            .args(["--amqp", amqp, "send", "job", "--each-line", payloads])
            .stdin(Stdio::piped())
            .stdout(File::create(&ids).expect("ids file"))
            .stderr(File::create(dist.file(&format!("client-{n}.log"))).expect("log file"))
            .spawn()
            .expect("cogman send starts");
        ClientProcess { child, ids }
    }

    fn stdin(&mut self) -> &mut ChildStdin {
        self.child.stdin.as_mut().expect("piped stdin")
    }

    /// Waits for the end; the ids of the tasks it sent (every send must have returned Ok).
    fn finish(mut self) -> Vec<String> {
        drop(self.child.stdin.take());
        let status = wait_for("a client process to finish", || {
            self.child.try_wait().ok().flatten()
        });
        assert!(status.success(), "every send of the client returned Ok");
        lines(&self.ids)
    }
}

impl Drop for ClientProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `count` payload lines (`{tag}-{i}`) to a client's stdin.
fn feed(client: &mut ClientProcess, tag: &str, count: usize) {
    let text: String = (0..count).map(|i| format!("{tag}-{i}\n")).collect();
    client
        .stdin()
        .write_all(text.as_bytes())
        .expect("payloads written");
}

/// How many distinct tasks ran so far.
fn distinct_runs(runs: &Path) -> usize {
    lines(runs).into_iter().collect::<HashSet<_>>().len()
}

/// Waits until `more` more distinct tasks ran than `from`: throughput resumed.
fn progress(runs: &Path, from: usize, more: usize, what: &str) -> usize {
    wait_for(&format!("{more} more tasks to run {what}"), || {
        let now = distinct_runs(runs);
        (now >= from + more).then_some(now)
    })
}

/// The node that leads most of this test's quorum queues (asked of `via`, a running node).
fn busiest_leader(
    rt: &tokio::runtime::Runtime,
    cluster: &RabbitCluster,
    via: &PrivateRabbit,
    prefix: &str,
    among: &[usize],
) -> usize {
    let listing = rt
        .block_on(via.ctl_output(&[
            "list_queues",
            "name",
            "leader",
            "--no-table-headers",
            "--quiet",
        ]))
        .expect("rabbitmqctl list_queues");
    let mut led: HashMap<usize, usize> = HashMap::new();
    for (name, leader) in listing.lines().filter_map(|l| l.split_once('\t')) {
        if !name.starts_with(prefix) {
            continue;
        }
        if let Some(i) = among
            .iter()
            .copied()
            .find(|&i| cluster.nodes()[i].name() == leader.trim())
        {
            *led.entry(i).or_default() += 1;
        }
    }
    let (node, count) = led
        .into_iter()
        .max_by_key(|&(_, count)| count)
        .unwrap_or_else(|| panic!("a node among {among:?} leads some queues: {listing}"));
    eprintln!("node {node} leads {count} of the test's queues");
    node
}

#[test]
fn five_thousand_tasks_from_two_clients_survive_a_stopped_and_a_killed_node() {
    const FIRST_CLIENT_TASKS: usize = 2500;
    const SECOND_CLIENT_BATCH: usize = 1250;
    const PROGRESS: usize = 300;
    let rt = runtime();
    let (cluster, dist) = quorum_cluster(&rt, "nodeloss");
    let runs = dist.file("runs.txt");
    let handler = counting_handler(&runs);
    let _workers: Vec<WorkerProcess> = (0..3)
        .map(|n| {
            let mut command = dist.cogman();
            command.args([
                "--amqp",
                &cluster.uris_from(n),
                "worker",
                "--quiet",
                "--concurrency",
                "8",
                "--handler",
                &handler,
            ]);
            WorkerProcess::spawn(command, dist.file(&format!("worker-{n}.log")))
        })
        .collect();
    let payloads = dist.file("first-client.txt");
    std::fs::write(
        &payloads,
        (0..FIRST_CLIENT_TASKS)
            .map(|i| format!("a-{i}\n"))
            .collect::<String>(),
    )
    .expect("payload file");
    let first = ClientProcess::spawn(
        &dist,
        &cluster.uris_from(0),
        0,
        payloads.to_str().expect("UTF-8 path"),
    );
    // The second client reads its payloads from the test as they come: one batch during
    // each fault, so there is always fresh work when throughput must resume.
    let mut second = ClientProcess::spawn(&dist, &cluster.uris_from(1), 1, "-");
    let warmed = progress(&runs, 0, 500, "before any fault");

    // Fault 1: the node leading most queues stops (its app; the VM stays up).
    let prefix = dist.config.amqp.queue_prefix.clone();
    let stopped = busiest_leader(&rt, &cluster, &cluster.nodes()[2], &prefix, &[0, 1, 2]);
    rt.block_on(cluster.nodes()[stopped].stop_app())
        .expect("stop the leading node's app");
    let at_stop = distinct_runs(&runs).max(warmed);
    feed(&mut second, "b", SECOND_CLIENT_BATCH);
    let after_stop = progress(&runs, at_stop, PROGRESS, "with one node stopped");
    eprintln!("{at_stop} tasks had run at the stop, {after_stop} since");
    rt.block_on(cluster.nodes()[stopped].start_app())
        .expect("the stopped node serves again");
    let others: Vec<usize> = (0..3).filter(|&i| i != stopped).collect();
    rt.block_on(cluster.nodes()[stopped].ctl(&["await_online_nodes", "3", "--timeout", "60000"]))
        .expect("three nodes online");

    // Fault 2: another node, the one now leading most of the queues among the other two,
    // dies with SIGKILL.
    let killed = busiest_leader(&rt, &cluster, &cluster.nodes()[stopped], &prefix, &others);
    rt.block_on(cluster.nodes()[killed].kill())
        .expect("SIGKILL the node");
    let at_kill = distinct_runs(&runs);
    feed(&mut second, "c", SECOND_CLIENT_BATCH);
    let after_kill = progress(&runs, at_kill, PROGRESS, "with one node killed");
    eprintln!("{at_kill} tasks had run at the kill, {after_kill} since");
    rt.block_on(cluster.nodes()[killed].boot())
        .expect("the killed node boots again");

    let sent: Vec<String> = first.finish().into_iter().chain(second.finish()).collect();
    assert_eq!(
        sent.len(),
        FIRST_CLIENT_TASKS + 2 * SECOND_CLIENT_BATCH,
        "every send returned Ok and printed its id"
    );
    let sent_set: HashSet<&String> = sent.iter().collect();
    assert_eq!(sent_set.len(), sent.len(), "every id is new");
    wait_for("every sent task to run", || {
        let ran: HashSet<String> = lines(&runs).into_iter().collect();
        sent.iter().all(|id| ran.contains(id)).then_some(())
    });
    let not_success: Vec<String> = dist.with_client(async |client| {
        let mut bad = Vec::new();
        for id in &sent {
            let task_id: TaskId = id.parse().expect("a task id");
            let succeeded = cogman_testkit::wait_until("the task's success", support::WAIT, || {
                let inspector = client.inspector();
                async move {
                    inspector
                        .task(task_id)
                        .await
                        .is_ok_and(|t| t.task.status == cogman::TaskState::Success)
                }
            })
            .await;
            if succeeded.is_err() {
                bad.push(id.clone());
            }
        }
        bad
    });
    assert!(
        not_success.is_empty(),
        "{} sent tasks did not end success: {:?}",
        not_success.len(),
        &not_success[..not_success.len().min(10)]
    );
    let all_runs = lines(&runs);
    let stray: Vec<&String> = all_runs
        .iter()
        .filter(|id| !sent_set.contains(id))
        .collect();
    assert!(stray.is_empty(), "only sent tasks ran: {stray:?}");
    let duplicates = all_runs.len() - sent.len();
    eprintln!(
        "{} tasks sent by 2 clients, all succeeded, 0 lost; {} runs, {duplicates} duplicate runs",
        sent.len(),
        all_runs.len()
    );
}
