//! Distributed tracing through the `cogman` binary: a `cogman send` process and a
//! `cogman worker` process export their spans over OTLP/HTTP to a receiver started here, and
//! the task's spans form one trace across both — the worker's `cogman.consume` is a child of
//! the sender's `cogman.send`, `cogman.run` a child of the consume, `cogman.record` of the run;
//! a retry's consume is a child of the failed attempt's run; the shell handler sees
//! `TRACEPARENT` naming its run span. In the embedded mode and on RabbitMQ.

mod support;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use cogman_testkit::servers::SharedCleanup;
use serde_json::Value;
use support::{Scratch, WorkerProcess, cogman_in, run, stdout, wait_for};

/// A span as the receiver got it, with the `process.pid` of the process that exported it.
#[derive(Debug, Clone)]
struct Received {
    span: Value,
    pid: String,
}

impl Received {
    fn name(&self) -> &str {
        self.span["name"].as_str().unwrap_or_default()
    }

    fn id(&self) -> &str {
        self.span["spanId"].as_str().unwrap_or_default()
    }

    fn trace(&self) -> &str {
        self.span["traceId"].as_str().unwrap_or_default()
    }

    fn parent(&self) -> Option<&str> {
        self.span["parentSpanId"].as_str()
    }

    fn attribute(&self, key: &str) -> Option<String> {
        self.span["attributes"]
            .as_array()?
            .iter()
            .find(|a| a["key"] == key)
            .map(|a| {
                let value = &a["value"];
                value["stringValue"]
                    .as_str()
                    .or_else(|| value["intValue"].as_str())
                    .unwrap_or_default()
                    .to_owned()
            })
    }
}

/// An OTLP/HTTP receiver: accepts `POST /v1/traces` with an OTLP JSON body and keeps every
/// span; answers 200 `{}`.
struct Receiver {
    port: u16,
    spans: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let spans = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&spans);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let kept = Arc::clone(&kept);
                std::thread::spawn(move || serve(stream, &kept));
            }
        });
        Receiver { port, spans }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn spans(&self) -> Vec<Received> {
        self.spans.lock().expect("spans").clone()
    }

    /// The span `name` of task `task_id` (waits for it).
    fn span_of(&self, name: &str, task_id: &str) -> Received {
        wait_for(&format!("span {name} of task {task_id}"), || {
            self.spans().into_iter().find(|s| {
                s.name() == name && s.attribute("cogman.task.id").as_deref() == Some(task_id)
            })
        })
    }
}

/// Reads requests off one connection (keep-alive) until it closes.
fn serve(stream: TcpStream, kept: &Mutex<Vec<Received>>) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut writer = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut headers = HashMap::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((key, value)) = line.split_once(':') {
                headers.insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
            }
        }
        let length: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .expect("a Content-Length");
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        assert!(
            request_line.starts_with("POST /v1/traces "),
            "unexpected request {request_line:?}"
        );
        assert_eq!(
            headers.get("content-type").map(String::as_str),
            Some("application/json")
        );
        let request: Value = serde_json::from_slice(&body).expect("OTLP JSON");
        for resource in request["resourceSpans"].as_array().expect("resourceSpans") {
            let pid = resource["resource"]["attributes"]
                .as_array()
                .and_then(|a| a.iter().find(|a| a["key"] == "process.pid"))
                .and_then(|a| a["value"]["intValue"].as_str())
                .unwrap_or_default()
                .to_owned();
            for scope in resource["scopeSpans"].as_array().expect("scopeSpans") {
                for span in scope["spans"].as_array().expect("spans") {
                    kept.lock().expect("spans").push(Received {
                        span: span.clone(),
                        pid: pid.clone(),
                    });
                }
            }
        }
        let answer =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}";
        if writer.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

/// A scratch directory, the variables every `cogman` of the test gets (the embedded SQLite
/// file, the OTLP endpoint; RabbitMQ with a queue prefix of its own when `amqp`).
struct Setup {
    dir: Scratch,
    vars: Vec<(&'static str, String)>,
    _cleanup: Option<SharedCleanup>,
}

impl Setup {
    fn new(receiver: &Receiver, amqp: bool) -> Setup {
        let dir = Scratch::new();
        let mut vars = vec![
            (
                "COGMAN_SQLITE_PATH",
                dir.path().join("cogman.db").display().to_string(),
            ),
            ("COGMAN_OTLP_ENDPOINT", receiver.endpoint()),
            ("COGMAN_RETRY_BACKOFF", "100ms".to_owned()),
        ];
        let mut cleanup = None;
        if amqp {
            let (_, amqp_vars, amqp_cleanup) = support::amqp_vars("trace");
            vars.extend(amqp_vars);
            cleanup = Some(amqp_cleanup);
        }
        Setup {
            dir,
            vars,
            _cleanup: cleanup,
        }
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cogman(&self) -> Command {
        let mut command = cogman_in(self.dir.path());
        command.envs(self.vars.iter().cloned());
        command.env_remove("TRACEPARENT").env_remove("TRACESTATE");
        command
    }
}

/// A task that fails its first attempt and succeeds on its retry; its shell handler writes
/// the `TRACEPARENT` it sees per attempt.
fn spans_join_the_senders_trace(amqp: bool) {
    let receiver = Receiver::start();
    let setup = Setup::new(&receiver, amqp);
    let seen = setup.file("traceparent.txt");
    let handler = format!(
        "traced=echo \"$COGMAN_ATTEMPT $TRACEPARENT\" >> {}; test \"$COGMAN_ATTEMPT\" != 0",
        seen.display()
    );
    let mut command = setup.cogman();
    command.args(["worker", "--handler", &handler]);
    let worker = WorkerProcess::spawn(command, setup.file("worker.log"));
    let first = stdout(&run(setup.cogman().args([
        "send",
        "traced",
        "--payload",
        "x",
        "--retry",
        "1",
    ])));

    let send = receiver.span_of("cogman.send", &first);
    let publish = receiver.span_of("cogman.publish", &first);
    let consume = receiver.span_of("cogman.consume", &first);
    let failed_run = receiver.span_of("cogman.run", &first);
    let record = receiver.span_of("cogman.record", &first);
    let trace = send.trace().to_owned();
    assert_eq!(
        send.parent(),
        None,
        "a send from a fresh process starts a trace"
    );
    assert_eq!(publish.parent(), Some(send.id()));
    assert_eq!(
        consume.parent(),
        Some(send.id()),
        "consume is a child of send"
    );
    assert_eq!(
        failed_run.parent(),
        Some(consume.id()),
        "run is a child of consume"
    );
    assert_eq!(record.parent(), Some(failed_run.id()));
    for span in [&publish, &consume, &failed_run, &record] {
        assert_eq!(
            span.trace(),
            trace,
            "{} is in the send's trace",
            span.name()
        );
    }
    assert_ne!(
        send.pid, failed_run.pid,
        "the send and the run were exported by two processes"
    );
    assert_eq!(
        failed_run.span["status"]["code"], 2,
        "the failed run is an error"
    );
    assert_eq!(
        record.attribute("cogman.task.state").as_deref(),
        Some("retry")
    );
    for (span, name) in [(&send, "traced"), (&failed_run, "traced")] {
        assert_eq!(span.attribute("cogman.task.name").as_deref(), Some(name));
        assert_eq!(span.attribute("cogman.queue").as_deref(), Some("default"));
        assert_eq!(span.attribute("cogman.task.attempt").as_deref(), Some("0"));
    }

    // The retry is another task id in the same trace: its consume is a child of the failed run.
    let retry_run = wait_for("the retry's run span", || {
        receiver.spans().into_iter().find(|s| {
            s.name() == "cogman.run" && s.attribute("cogman.task.attempt").as_deref() == Some("1")
        })
    });
    let retry_id = retry_run.attribute("cogman.task.id").expect("a task id");
    assert_ne!(retry_id, first);
    let retry_consume = receiver.span_of("cogman.consume", &retry_id);
    assert_eq!(retry_consume.parent(), Some(failed_run.id()));
    assert_eq!(retry_run.parent(), Some(retry_consume.id()));
    assert_eq!(retry_run.trace(), trace);
    assert_eq!(retry_run.span["status"]["code"], 0);

    // The shell handler saw its run span as TRACEPARENT.
    let lines = wait_for("both attempts' TRACEPARENT", || {
        let lines = support::lines(&seen);
        (lines.len() == 2).then_some(lines)
    });
    assert_eq!(
        lines,
        vec![
            format!("0 00-{trace}-{}-01", failed_run.id()),
            format!("1 00-{trace}-{}-01", retry_run.id()),
        ]
    );
    drop(worker);
}

#[test]
fn embedded_spans_join_the_senders_trace() {
    spans_join_the_senders_trace(false);
}

#[test]
fn rabbitmq_spans_join_the_senders_trace() {
    spans_join_the_senders_trace(true);
}

/// `cogman send` run under a `TRACEPARENT` (as from a shell handler) continues that trace;
/// without `otlp_endpoint` no span is made, and the handler gets the context the task came
/// with, unchanged.
#[test]
fn an_inherited_traceparent_is_passed_on_without_an_exporter() {
    let receiver = Receiver::start();
    let mut setup = Setup::new(&receiver, false);
    setup.vars.retain(|(key, _)| *key != "COGMAN_OTLP_ENDPOINT");
    let seen = setup.file("traceparent.txt");
    let handler = format!("passed=echo \"$TRACEPARENT\" > {}", seen.display());
    let mut command = setup.cogman();
    command.args(["worker", "--handler", &handler]);
    let _worker = WorkerProcess::spawn(command, setup.file("worker.log"));
    let parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    stdout(&run(setup.cogman().env("TRACEPARENT", parent).args([
        "send",
        "passed",
        "--payload",
        "x",
    ])));
    let line = wait_for("the handler's TRACEPARENT", || {
        support::lines(&seen).into_iter().next()
    });
    assert_eq!(line, parent);
}
