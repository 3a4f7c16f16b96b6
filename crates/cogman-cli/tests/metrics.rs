//! The metrics of every process, through the binary: `cogman worker --metrics 127.0.0.1:0`
//! (embedded, and over RabbitMQ) runs tasks that succeed, retry and fail, and its `/metrics`
//! counts them by name and outcome with histograms that agree; the worker inside `cogman serve`
//! serves the same at the config's `metrics` address; the Grafana dashboard in docs/ uses only
//! metrics a running worker or `cogman serve` exposes.

mod support;

use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use support::{WAIT, WorkerProcess, http_get, run, wait_for};

const AMQP: &str = "amqp://guest:guest@127.0.0.1:5672/%2f";

/// The handlers every test's worker runs: `ok` succeeds, `bad` fails for good, `flaky`
/// fails its first attempt and succeeds on its retry.
const HANDLERS: [&str; 3] = [
    "ok=true",
    "bad=exit 3",
    "flaky=[ \"$COGMAN_ATTEMPT\" = 1 ] || exit 4",
];

/// `cogman` in `dir` on its own database, with `vars` and none of the caller's `COGMAN_*`.
fn cogman(dir: &Path, vars: &[(&str, String)]) -> Command {
    let mut command = support::cogman(dir);
    command.envs(vars.iter().map(|(k, v)| (k, v)));
    command
}

/// A `cogman worker --metrics 127.0.0.1:0` with [`HANDLERS`], and the URL of its metrics
/// (read from its log).
fn worker_with_metrics(dir: &Path, vars: &[(&str, String)]) -> (WorkerProcess, String) {
    let mut command = cogman(dir, vars);
    command.env("COGMAN_RETRY_BACKOFF", "20ms").args([
        "worker",
        "--quiet",
        "--metrics",
        "127.0.0.1:0",
    ]);
    for handler in HANDLERS {
        command.args(["--handler", handler]);
    }
    let worker = WorkerProcess::spawn(command, dir.join("worker.log"));
    let url = wait_for("the worker's metrics address", || {
        let log = worker.log();
        let rest = &log[log.find("metrics at http://")? + "metrics at ".len()..];
        Some(rest.split_whitespace().next()?.to_owned())
    });
    (worker, url)
}

/// Sends `name` (with `extra` arguments).
fn send(dir: &Path, vars: &[(&str, String)], name: &str, extra: &[&str]) {
    support::stdout(&run(cogman(dir, vars).args(["send", name]).args(extra)));
}

/// The samples of an exposition: `name{labels}` (as written) → value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            Some((series.to_owned(), value.parse().ok()?))
        })
        .collect()
}

/// The metric names of an exposition's samples (`x_bucket`, `x_count`, … included).
fn sample_names(text: &str) -> BTreeSet<String> {
    samples(text)
        .keys()
        .map(|series| series.split('{').next().unwrap_or(series).to_owned())
        .collect()
}

fn value(samples: &HashMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

/// Runs 3 `ok`, 2 `bad` and 1 `flaky` (with one retry) through the worker, then returns its
/// scrape once every attempt is counted, after checking the counts.
fn run_tasks_and_check(dir: &Path, vars: &[(&str, String)], url: &str) -> String {
    for _ in 0..3 {
        send(dir, vars, "ok", &[]);
    }
    for _ in 0..2 {
        send(dir, vars, "bad", &[]);
    }
    send(dir, vars, "flaky", &["--retry", "1"]);
    let text = wait_for("the worker to count 7 attempts", || {
        let (code, body) = http_get(url, None);
        assert_eq!(code, 200, "{body}");
        let s = samples(&body);
        let total: f64 = s
            .iter()
            .filter(|(k, _)| k.starts_with("cogman_worker_attempts_total{"))
            .map(|(_, v)| v)
            .sum();
        (total >= 7.0).then_some(body)
    });
    let s = samples(&text);
    let attempts = |name: &str, outcome: &str| {
        value(
            &s,
            &format!("cogman_worker_attempts_total{{name=\"{name}\",outcome=\"{outcome}\"}}"),
        )
    };
    assert_eq!(attempts("ok", "success"), 3.0, "{text}");
    assert_eq!(attempts("bad", "failed"), 2.0, "{text}");
    assert_eq!(attempts("flaky", "retry"), 1.0, "{text}");
    assert_eq!(attempts("flaky", "success"), 1.0, "{text}");
    assert_eq!(attempts("ok", "failed"), 0.0, "{text}");
    for (name, count) in [("ok", 3.0), ("bad", 2.0), ("flaky", 2.0)] {
        for histogram in [
            "cogman_worker_attempt_duration_seconds",
            "cogman_worker_queue_latency_seconds",
        ] {
            assert_eq!(
                value(&s, &format!("{histogram}_count{{name=\"{name}\"}}")),
                count,
                "{histogram} count of {name}: {text}"
            );
            assert_eq!(
                value(
                    &s,
                    &format!("{histogram}_bucket{{le=\"+Inf\",name=\"{name}\"}}")
                ),
                count,
                "{histogram} +Inf bucket of {name}: {text}"
            );
            assert!(
                value(&s, &format!("{histogram}_sum{{name=\"{name}\"}}")) > 0.0,
                "{histogram} sum of {name}: {text}"
            );
        }
    }
    assert_eq!(value(&s, "cogman_worker_tasks_in_flight"), 0.0, "{text}");
    assert!(value(&s, "process_resident_memory_bytes") > 0.0, "{text}");
    assert!(text.trim_end().ends_with("# EOF"), "{text}");
    text
}

#[test]
fn an_embedded_worker_counts_its_attempts_by_name_and_outcome() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_worker, url) = worker_with_metrics(dir.path(), &[]);
    run_tasks_and_check(dir.path(), &[], &url);
    let base = url.trim_end_matches("/metrics");
    assert_eq!(http_get(&format!("{base}/other"), None).0, 404);
}

#[test]
fn a_worker_over_rabbitmq_counts_its_attempts_by_name_and_outcome() {
    let id = cogman::TaskId::new().as_uuid().simple().to_string();
    let prefix = format!("m_{}.", &id[id.len() - 12..]);
    let _cleanup = support::amqp_cleanup(AMQP, &prefix);
    let vars = [
        ("COGMAN_AMQP_URI", AMQP.to_owned()),
        ("COGMAN_AMQP_QUEUE_PREFIX", prefix),
    ];
    let dir = tempfile::tempdir().expect("temp dir");
    let (_worker, url) = worker_with_metrics(dir.path(), &vars);
    run_tasks_and_check(dir.path(), &vars, &url);
}

#[test]
fn the_metrics_address_comes_from_the_config_too() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = cogman_testkit::servers::free_port().expect("a free port");
    let mut command = cogman(
        dir.path(),
        &[("COGMAN_METRICS", format!("127.0.0.1:{port}"))],
    );
    command.args(["worker", "--quiet", "--handler", "ok=true"]);
    let worker = WorkerProcess::spawn(command, dir.path().join("worker.log"));
    let url = format!("http://127.0.0.1:{port}/metrics");
    wait_for("the metrics line", || {
        worker.log().contains(&url).then_some(())
    });
    let (code, body) = http_get(&url, None);
    assert_eq!(code, 200);
    assert!(body.contains("cogman_worker_tasks_in_flight 0"), "{body}");
}

/// A running `cogman serve --no-worker` on `dir`'s database; killed when dropped.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cogman serve ARGS` on a free port with `vars`; returns it, its base URL and the
/// URL of its worker's metrics if it printed one.
fn serve(dir: &Path, args: &[&str], vars: &[(&str, String)]) -> (Serve, String, Option<String>) {
    let mut child = cogman(dir, vars)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cogman serve starts");
    let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
    let server = Serve(child);
    let deadline = Instant::now() + WAIT;
    let mut line = String::new();
    let mut metrics = None;
    loop {
        assert!(Instant::now() < deadline, "cogman serve did not listen");
        line.clear();
        let read = stderr.read_line(&mut line).expect("stderr readable");
        assert!(read > 0, "cogman serve exited before listening");
        if let Some(url) = line.strip_prefix("metrics at ") {
            metrics = Some(url.trim().to_owned());
        } else if let Some(start) = line.find("http://") {
            let url = &line[start..];
            let end = url.find("/api/v1").expect("the API prefix");
            let url = url[..end].to_owned();
            // Keep draining stderr so the server never blocks on a full pipe.
            std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
            return (server, url, metrics);
        }
    }
}

/// The metric names a PromQL expression uses: every identifier outside quotes that starts
/// with `cogman_` or `process_` (every metric cogman exports does).
fn promql_metrics(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_quote = false;
    let mut word = String::new();
    for c in expr.chars().chain([' ']) {
        if c == '"' {
            in_quote = !in_quote;
        }
        if !in_quote && (c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            word.push(c);
            continue;
        }
        if word.starts_with("cogman_") || word.starts_with("process_") {
            names.push(word.clone());
        }
        word.clear();
    }
    names
}

#[test]
fn every_metric_of_the_grafana_dashboard_is_exposed() {
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/grafana-dashboard.json"),
        )
        .expect("docs/grafana-dashboard.json"),
    )
    .expect("the dashboard is JSON");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(
        panels.len() >= 6,
        "throughput, failure rate, duration, in flight, latency, depth"
    );

    let dir = tempfile::tempdir().expect("temp dir");
    let (_worker, url) = worker_with_metrics(dir.path(), &[]);
    let worker_text = run_tasks_and_check(dir.path(), &[], &url);
    let (_serve, base, _) = serve(dir.path(), &["--no-worker"], &[]);
    let (code, serve_text) = http_get(&format!("{base}/api/v1/metrics"), None);
    assert_eq!(code, 200, "{serve_text}");
    let mut exposed = sample_names(&worker_text);
    exposed.extend(sample_names(&serve_text));

    for panel in panels {
        let title = panel["title"].as_str().expect("a panel title");
        let targets = panel["targets"].as_array().expect("panel targets");
        assert!(!targets.is_empty(), "panel {title:?} has no query");
        for target in targets {
            let expr = target["expr"].as_str().expect("a PromQL expression");
            let used = promql_metrics(expr);
            assert!(!used.is_empty(), "panel {title:?}: no metric in {expr:?}");
            for metric in used {
                assert!(
                    exposed.contains(&metric),
                    "panel {title:?} uses {metric}, which no process exposes; exposed: {exposed:?}"
                );
            }
        }
    }
}

#[test]
fn the_worker_inside_serve_serves_its_metrics_at_the_configured_address() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_serve, _, metrics) = serve(
        dir.path(),
        &["--handler", "ok=true"],
        &[("COGMAN_METRICS", "127.0.0.1:0".to_owned())],
    );
    let url = metrics.expect("serve prints where its worker's metrics are");
    send(dir.path(), &[], "ok", &[]);
    wait_for("the attempt to be counted", || {
        let (code, body) = http_get(&url, None);
        assert_eq!(code, 200, "{body}");
        body.contains("cogman_worker_attempts_total{name=\"ok\",outcome=\"success\"} 1")
            .then_some(())
    });
}
