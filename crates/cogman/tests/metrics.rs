//! A library worker's metrics: [`cogman::Worker::metrics`] counts what the worker ran, and
//! [`cogman::metrics::MetricsServer`] serves them at `/metrics` over HTTP (embedded backend).

mod support;

use cogman::metrics::MetricsServer;
use cogman::{TaskError, TaskSpec, handler_fn};
use cogman_testkit::wait_until;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use support::{WAIT, ended, start};

/// `METHOD path` against `addr` with a closing connection: the status code and the body.
async fn request(addr: std::net::SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connects");
    stream
        .write_all(
            format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .await
        .expect("request sent");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .await
        .expect("answer read");
    cogman_testkit::http::status_and_body(&answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_library_worker_serves_what_it_ran() {
    let (_dir, cogman) = start().await;
    cogman
        .register(
            "ok",
            handler_fn(|_ctx, _payload: Vec<u8>| async move { Ok::<_, TaskError>(Vec::new()) }),
        )
        .expect("register ok");
    cogman
        .register(
            "bad",
            handler_fn(|_ctx, _payload: Vec<u8>| async move {
                Err::<Vec<u8>, _>(TaskError::fail("no"))
            }),
        )
        .expect("register bad");
    let server = MetricsServer::bind(
        "127.0.0.1:0".parse().expect("an address"),
        cogman.worker().metrics(),
    )
    .await
    .expect("the metrics server binds");
    let addr = server.local_addr();
    let mut ids = Vec::new();
    for name in ["ok", "ok", "bad"] {
        let receipt = cogman
            .send_task(TaskSpec::new(name, Vec::new()), None)
            .await
            .expect("send");
        ids.push(receipt.id);
    }
    for id in ids {
        ended(cogman.client(), id).await;
    }
    let metrics = cogman.worker().metrics();
    wait_until("three attempts counted", WAIT, || {
        let text = metrics.render();
        async move { text.contains("cogman_worker_attempt_duration_seconds_count{name=\"bad\"} 1") }
    })
    .await
    .expect("counted");

    let (code, body) = request(addr, "GET", "/metrics").await;
    assert_eq!(code, 200, "{body}");
    for line in [
        "cogman_worker_attempts_total{name=\"ok\",outcome=\"success\"} 2",
        "cogman_worker_attempts_total{name=\"bad\",outcome=\"failed\"} 1",
        "cogman_worker_attempt_duration_seconds_count{name=\"ok\"} 2",
        "cogman_worker_queue_latency_seconds_count{name=\"ok\"} 2",
        "cogman_worker_tasks_in_flight 0",
    ] {
        assert!(body.contains(line), "missing {line:?} in\n{body}");
    }
    assert_eq!(
        cogman.worker().stats().succeeded,
        2,
        "the metrics agree with the worker's stats"
    );
    assert_eq!(request(addr, "GET", "/other").await.0, 404);
    assert_eq!(request(addr, "POST", "/metrics").await.0, 405);

    server.stop().await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "a stopped server no longer listens"
    );
    cogman.stop().await;
}
