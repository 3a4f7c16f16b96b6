//! The distributed mode as real processes: `cogman worker` processes whose shell handlers append
//! `$COGMAN_TASK_ID` (or the primary key) to a file, so executions are counted outside cogman,
//! and clients that are `cogman send` processes or the library. RabbitMQ, Redis and PostgreSQL
//! are the shared servers, isolated per test by `COGMAN_AMQP_QUEUE_PREFIX`, `COGMAN_REDIS_NAMESPACE`
//! and `COGMAN_POSTGRES_SCHEMA`; the test that stops PostgreSQL runs a private cluster. What
//! each test proves is listed in `docs/reliability.md`.

mod support;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};

use cogman::{Priority, TaskSpec};
use cogman_testkit::servers::PrivatePostgres;
use futures::{StreamExt as _, stream};
use serde_json::Value;
use support::{Dist, POSTGRES, assert_ran_again_after_kill, lines, wait_for};

/// Kills the handler shells a killed worker left behind (their pids are in `pids`).
fn kill_orphans(pids: &Path) {
    for pid in lines(pids) {
        let _ = Command::new("kill").args(["-9", &pid]).status();
    }
}

#[test]
fn a_worker_killed_mid_task_loses_nothing_rabbitmq_redelivers() {
    let dist = Dist::new("kill", POSTGRES);
    let (started, pids) = (dist.file("started.txt"), dist.file("pids.txt"));
    let handler = format!(
        "job=echo $$ >> {pids}; echo $COGMAN_TASK_ID >> {p}; if [ $(wc -l < {p}) -lt 2 ]; then sleep 60; fi; echo ok",
        pids = pids.display(),
        p = started.display()
    );
    let mut first = dist.worker(&handler, &[]);
    let id = dist.send(&["job"]);
    wait_for("the first run to start", || {
        (lines(&started).len() == 1).then_some(())
    });
    // The durable log writes the start of a run up to its merge window later (see
    // docs/reliability.md); wait for it, so the history has the first run to show.
    wait_for("the first run to be in the durable history", || {
        let task = dist.status(&id)?;
        let history = task["history"].as_array()?;
        history
            .iter()
            .any(|entry| entry["state"] == "in_progress")
            .then_some(())
    });
    first.kill9();
    kill_orphans(&pids);
    let _second = dist.worker(&handler, &[]);
    let task = dist.wait_success(&id);
    assert_ran_again_after_kill(&task, &started, &id);
}

/// The `worker` fields of a task's `success` history entries.
fn success_workers(task: &Value) -> Vec<String> {
    task["history"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|change| change["state"] == "success")
        .map(|change| change["worker"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn a_frozen_worker_loses_its_tasks_to_another_then_resumes_without_overwriting_them() {
    const HEARTBEAT_SECS: u16 = 2;
    let dist = Dist::new("zombie", POSTGRES).amqp_heartbeat(HEARTBEAT_SECS);
    let (runs, gate) = (dist.file("runs.txt"), dist.file("gate"));
    // Records `ID PID` when it starts, holds until the gate opens, and returns its worker's pid.
    let handler = format!(
        "job=echo $COGMAN_TASK_ID $PPID >> {r}; while [ ! -e {g} ]; do sleep 0.05; done; echo $PPID",
        r = runs.display(),
        g = gate.display()
    );
    let mut zombie = dist.worker(&handler, &["--concurrency", "3"]);
    let zombie_id = zombie.id();
    let zombie_pid = zombie.pid().to_string();
    let held: Vec<String> = (0..3)
        .map(|i| dist.send(&["job", "--payload", &i.to_string()]))
        .collect();
    wait_for("the frozen-to-be worker to start the three tasks", || {
        (lines(&runs).len() == 3).then_some(())
    });

    let frozen = zombie.freeze();
    let frozen_at = std::time::Instant::now();
    // The zombie's handler shells finish now; the zombie cannot report it.
    File::create(&gate).expect("open the gate");
    let mut rescuer = dist.worker(&handler, &[]);
    let rescuer_id = rescuer.id();
    for id in &held {
        let task = dist.wait_success(id);
        assert_eq!(
            success_workers(&task),
            vec![rescuer_id.clone()],
            "task {id} succeeded once, on the other worker"
        );
    }
    let failover = frozen_at.elapsed();
    eprintln!("the frozen worker's tasks succeeded elsewhere {failover:?} after the freeze");
    assert!(
        failover < std::time::Duration::from_secs(30),
        "RabbitMQ gave the frozen worker's tasks away within 30 s ({HEARTBEAT_SECS} s heartbeat), took {failover:?}"
    );
    let by_task = {
        let mut by_task: HashMap<String, Vec<String>> = HashMap::new();
        for line in lines(&runs) {
            if let Some((id, pid)) = line.split_once(' ') {
                by_task
                    .entry(id.to_owned())
                    .or_default()
                    .push(pid.to_owned());
            }
        }
        by_task
    };
    let rescuer_pid = rescuer.pid().to_string();
    for id in &held {
        assert_eq!(
            by_task.get(id),
            Some(&vec![zombie_pid.clone(), rescuer_pid.clone()]),
            "task {id} started on the frozen worker, then ran again on the other one"
        );
    }

    frozen.resume();
    // The zombie now reports its three late successes and acks on a channel RabbitMQ closed.
    rescuer.kill9();
    assert!(
        zombie.is_alive(),
        "the resumed worker survived its late results"
    );
    let later: Vec<String> = (3..6)
        .map(|i| dist.send(&["job", "--payload", &i.to_string()]))
        .collect();
    for id in &later {
        let task = dist.wait_success(id);
        assert_eq!(
            success_workers(&task),
            vec![zombie_id.clone()],
            "task {id}, sent after the resume, ran on the resumed worker"
        );
    }
    for id in &held {
        let task = dist
            .status(id)
            .unwrap_or_else(|| panic!("task {id} is readable"));
        assert_eq!(task["task"]["status"], "success");
        assert_eq!(
            success_workers(&task),
            vec![rescuer_id.clone()],
            "the resumed worker's late success did not overwrite task {id}: {task}"
        );
        let result = &task["task"]["result_base64"];
        let recorded = task["history"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|change| change["state"] == "success")
            .map(|change| &change["result_base64"]);
        assert_eq!(
            Some(result),
            recorded,
            "task {id} keeps the other worker's result"
        );
    }
    assert!(zombie.is_alive(), "the resumed worker is still running");
    // Its counters: the three late successes (refused by the log, their acks by RabbitMQ)
    // and the three new tasks.
    let status = zombie.terminate();
    let log = zombie.log();
    eprintln!("--- resumed worker ---\n{log}");
    assert!(
        status.success(),
        "the resumed worker stopped cleanly: {status}"
    );
    assert!(
        log.contains("stopped: 6 succeeded, 0 failed, 0 retried"),
        "the resumed worker settled its 3 late tasks and 3 new ones"
    );
}

#[test]
fn two_worker_processes_share_the_queues_and_run_each_task_once() {
    let dist = Dist::new("share", POSTGRES);
    let runs = dist.file("runs.txt");
    let handler = format!("count=echo $COGMAN_TASK_ID $PPID >> {}", runs.display());
    let _a = dist.worker(&handler, &[]);
    let _b = dist.worker(&handler, &[]);
    dist.wait_consumers(2);
    // Four client processes at a time, ten tasks each.
    let ids: Vec<String> = std::thread::scope(|scope| {
        let senders: Vec<_> = (0..4)
            .map(|s| {
                let dist = &dist;
                scope.spawn(move || {
                    (0..10)
                        .map(|i| dist.send(&["count", "--payload", &format!("{s}-{i}")]))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        senders
            .into_iter()
            .flat_map(|s| s.join().expect("sender"))
            .collect()
    });
    for id in &ids {
        dist.wait_success(id);
    }
    let ran: Vec<(String, String)> = lines(&runs)
        .iter()
        .filter_map(|l| l.split_once(' ').map(|(a, b)| (a.to_owned(), b.to_owned())))
        .collect();
    assert_eq!(
        ran.len(),
        ids.len(),
        "{} runs for {} tasks",
        ran.len(),
        ids.len()
    );
    let ran_ids: HashSet<&String> = ran.iter().map(|(id, _)| id).collect();
    assert_eq!(ran_ids, ids.iter().collect(), "each task ran exactly once");
    let by_worker: HashSet<&String> = ran.iter().map(|(_, pid)| pid).collect();
    assert_eq!(by_worker.len(), 2, "both workers took tasks: {ran:?}");
}

#[test]
fn high_priority_tasks_start_first_through_a_worker_process() {
    let dist = Dist::new("prio", POSTGRES);
    let order = dist.file("order.txt");
    dist.with_client(async |client| {
        for (priority, label, n) in [(Priority::Low, "low", 1000), (Priority::High, "high", 100)] {
            let failures = stream::iter(0..n)
                .map(|i| {
                    let spec = TaskSpec::new("prio", Vec::new())
                        .priority(priority)
                        .primary_key(format!("{label}-{i}"));
                    client.send_task(spec)
                })
                .buffer_unordered(32)
                .filter(|r| std::future::ready(r.is_err()))
                .count()
                .await;
            assert_eq!(failures, 0, "every {label} task is accepted");
        }
    });
    let handler = format!("prio=echo $COGMAN_PRIMARY_KEY >> {}", order.display());
    let _worker = dist.worker(&handler, &["--concurrency", "1"]);
    let started = wait_for("every high task to start", || {
        let started = lines(&order);
        (started.iter().filter(|k| k.starts_with("high-")).count() == 100).then_some(started)
    });
    let last_high = started
        .iter()
        .rposition(|k| k.starts_with("high-"))
        .expect("high tasks ran");
    let lows_before = started[..last_high]
        .iter()
        .filter(|k| k.starts_with("low-"))
        .count();
    eprintln!("{lows_before} low tasks started before the last high one");
    assert!(
        lows_before < 199,
        "every high task started before the 200th low one; {lows_before} low tasks came first"
    );
    let unique: HashSet<&String> = started.iter().collect();
    assert_eq!(unique.len(), started.len(), "no task started twice");
}

#[test]
fn a_worker_killed_while_postgres_is_down_never_acked_what_it_could_not_record() {
    let postgres = PrivatePostgres::start().expect_started();
    // Record attempts give up (and are retried) after 1 s instead of 5.
    let dist = Dist::new("pgkill", &postgres.uri()).var("COGMAN_REQUEST_TIMEOUT", "1s");
    let (started, gate) = (dist.file("started.txt"), dist.file("gate"));
    let handler = format!(
        "job=echo $COGMAN_TASK_ID >> {s}; while [ ! -e {g} ]; do sleep 0.05; done",
        s = started.display(),
        g = gate.display()
    );
    let mut first = dist.worker(&handler, &[]);
    let ids: Vec<String> = (0..3)
        .map(|i| dist.send(&["job", "--payload", &i.to_string()]))
        .collect();
    wait_for("the three tasks to start", || {
        (lines(&started).len() == 3).then_some(())
    });
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime
        .block_on(postgres.stop())
        .expect("pg_ctl stop -m immediate");
    // The handlers finish now, but their outcome cannot be recorded.
    File::create(&gate).expect("open the gate");
    wait_for("the worker to retry recording", || {
        first
            .log()
            .contains("cannot record a state change")
            .then_some(())
    });
    first.kill9();
    runtime
        .block_on(postgres.start_again())
        .expect("PostgreSQL starts again");
    let _second = dist.worker(&handler, &[]);
    for id in &ids {
        dist.wait_success(id);
    }
    let mut runs: HashMap<String, usize> = HashMap::new();
    for id in lines(&started) {
        *runs.entry(id).or_default() += 1;
    }
    for id in &ids {
        assert_eq!(
            runs.get(id),
            Some(&2),
            "task {id} ran again: the killed worker had not acked it"
        );
    }
}

/// Starts a private server from a sync test.
trait ExpectStarted<T> {
    fn expect_started(self) -> T;
}

impl<F: std::future::Future<Output = Result<T, E>>, T, E: std::fmt::Display> ExpectStarted<T>
    for F
{
    fn expect_started(self) -> T {
        tokio::runtime::Runtime::new()
            .expect("a runtime")
            .block_on(self)
            .unwrap_or_else(|e| panic!("a private server starts: {e}"))
    }
}

/// `cogman send` closes the publisher's channel before its connection: none of 20 sends logs
/// lapin's `invalid channel state: Closing` (a channel closed twice), which about one send in
/// four did when the dropped client closed both at once.
#[test]
fn cogman_send_closes_its_amqp_channel_once_before_the_connection() {
    let dist = Dist::new("sendclose", POSTGRES);
    for i in 0..20 {
        let output = dist
            .cogman()
            .args(["send", "job", "--payload", &i.to_string()])
            .stdin(Stdio::null())
            .output()
            .expect("cogman send runs");
        let stderr = support::stderr(&output);
        assert!(output.status.success(), "send {i} failed: {stderr}");
        assert!(
            !stderr.contains("invalid channel state"),
            "send {i} closed a channel twice: {stderr}"
        );
    }
}
