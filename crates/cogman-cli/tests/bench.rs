//! `cogman bench` run as users run it, with a tiny task count: it says what its baseline does
//! in one line and splits the CPU per task by process, for cogman and the baseline side by
//! side, on the embedded mode (plain rusqlite baseline) and on RabbitMQ (plain lapin baseline,
//! with RabbitMQ's CPU read from /proc). Nothing here asserts a speed.

mod support;

use serde_json::Value;

use support::{cogman, json, run, stdout};

const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

const TINY: [&str; 9] = [
    "bench",
    "--tasks",
    "40",
    "--workers",
    "1",
    "--concurrency",
    "4",
    "--rounds",
    "2",
];

fn line_starting<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting with {prefix:?} in:\n{text}"))
}

/// The numbers after the label of a table row.
fn cells(row: &str, label: &str) -> Vec<String> {
    row[label.len()..]
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn embedded_bench_names_its_baseline_and_splits_the_cpu() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = stdout(&run(cogman(dir.path()).args(TINY)));
    let baseline = line_starting(&out, "baseline: ");
    assert!(baseline.contains("rusqlite"), "{baseline}");
    assert!(baseline.contains("synchronous=FULL"), "{baseline}");
    assert!(out.contains("medians of 2 round(s)"), "{out}");
    let label = "CPU µs per task end to end, this process";
    let cpu = cells(line_starting(&out, label), label);
    assert_eq!(cpu.len(), 3, "cogman, baseline, ratio: {cpu:?}");
    let ours: f64 = cpu[0].parse().expect("cogman's CPU is a number");
    let theirs: f64 = cpu[1].parse().expect("the baseline's CPU is a number");
    assert!(ours > 0.0 && theirs > 0.0, "{cpu:?}");
    // The embedded mode talks to no server: no other CPU row.
    assert_eq!(out.matches("CPU µs per task").count(), 1, "{out}");
    assert_eq!(
        out.matches("end to end per round").count(),
        1,
        "per-round figures printed: {out}"
    );
}

#[test]
fn amqp_bench_reports_rabbitmq_cpu_for_both_sides_as_json() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report: Value = json(&run(cogman(dir.path())
        .args(["--amqp", AMQP])
        .args(TINY)
        .arg("--json")));
    let baseline = report["baseline"].as_str().expect("baseline line");
    assert!(baseline.contains("plain lapin"), "{baseline}");
    assert!(baseline.contains("publisher confirms"), "{baseline}");
    assert_eq!(report["rounds"].as_array().map(Vec::len), Some(2));
    for side in ["median_cogman", "median_baseline"] {
        let figures = &report[side];
        assert!(
            figures["end_to_end_per_s"].as_f64() > Some(0.0),
            "{figures}"
        );
        assert!(figures["drain_per_s"].as_f64() > Some(0.0), "{figures}");
        let cpu = figures["cpu_us_per_task"].as_array().expect("CPU split");
        let labels: Vec<&str> = cpu.iter().filter_map(|c| c[0].as_str()).collect();
        // RabbitMQ runs on this machine (the test services), so its CPU is read too.
        assert_eq!(labels, ["this process", "RabbitMQ"], "{side}: {cpu:?}");
        assert!(cpu[0][1].as_f64() > Some(0.0), "{side}: {cpu:?}");
    }
}

#[test]
fn a_reader_that_went_away_ends_the_bench_quietly() {
    // As `cogman bench | head -0`: the reader closes before the report is printed.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = cogman(dir.path())
        .args(TINY)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("cogman runs");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("cogman ends");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert!(output.status.success(), "{err}");
}
