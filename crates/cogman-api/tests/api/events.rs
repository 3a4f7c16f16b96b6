//! `GET /events`, the live feed: the first event holds the totals, each state change of a task
//! run by a worker arrives as a `task` event and moves the totals; a read-only token may
//! listen and no token may not; stopping the server ends an open stream.

use std::time::Duration;

use axum::body::{Body, BodyDataStream};
use axum::http::{Request, header};
use cogman::{Config, TaskError, handler_fn};
use cogman_api::{ApiOptions, ApiState};
use futures::StreamExt as _;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt as _;

use crate::common::{ADMIN, Harness, READER, WAIT, both_tokens};

/// One server-sent event.
#[derive(Debug)]
struct Sse {
    event: String,
    data: Value,
}

/// Reads events from a `text/event-stream` body.
struct Feed {
    body: BodyDataStream,
    buffer: String,
}

impl Feed {
    fn new(body: Body) -> Self {
        Feed {
            body: body.into_data_stream(),
            buffer: String::new(),
        }
    }

    /// The next event (comments and `retry:` lines skipped); fails the test at the deadline.
    async fn next(&mut self) -> Sse {
        tokio::time::timeout(WAIT, async {
            loop {
                if let Some(end) = self.buffer.find("\n\n") {
                    let block: String = self.buffer.drain(..end + 2).collect();
                    let mut event = None;
                    let mut data = String::new();
                    for line in block.lines() {
                        if let Some(name) = line.strip_prefix("event:") {
                            event = Some(name.trim().to_owned());
                        } else if let Some(text) = line.strip_prefix("data:") {
                            data.push_str(text.trim_start());
                        }
                    }
                    if let Some(event) = event {
                        let data = serde_json::from_str(&data)
                            .unwrap_or_else(|e| panic!("event data is not JSON ({e}): {data}"));
                        return Sse { event, data };
                    }
                    continue;
                }
                let chunk = self
                    .body
                    .next()
                    .await
                    .expect("the stream stays open")
                    .expect("the stream reads");
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        })
        .await
        .expect("an event before the deadline")
    }

    /// Events until one satisfies `wanted`; returns it.
    async fn until(&mut self, wanted: impl Fn(&Sse) -> bool) -> Sse {
        loop {
            let event = self.next().await;
            if wanted(&event) {
                return event;
            }
        }
    }
}

fn events_request(token: Option<&str>) -> Request<Body> {
    let mut request = Request::get("/api/v1/events");
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    request.body(Body::empty()).expect("request")
}

async fn open_feed(api: &Harness, token: Option<&str>) -> Feed {
    let response = api
        .router
        .clone()
        .oneshot(events_request(token))
        .await
        .expect("the router never fails");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream",
        "{:?}",
        response.headers()
    );
    Feed::new(response.into_body())
}

#[tokio::test]
async fn the_feed_opens_with_the_totals_and_pushes_each_state_change() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config::embedded(dir.path().join("cogman.db"));
    let options = ApiOptions {
        events_interval: Duration::from_millis(50),
        ..ApiOptions::default()
    };
    let register = |worker: &cogman::Worker| {
        worker
            .register(
                "shout",
                handler_fn(|_ctx, payload: Vec<u8>| async move {
                    Ok::<_, TaskError>(payload.to_ascii_uppercase())
                }),
            )
            .expect("registered");
    };
    let api = Harness::from_config(config, options, Some(&register)).await;
    let mut feed = open_feed(&api, None).await;

    let first = feed.next().await;
    assert_eq!(first.event, "counts");
    assert_eq!(first.data["attempts"], 0);
    assert_eq!(first.data["states"]["success"], 0);

    let id = api.send(json!({"name": "shout", "payload": "hi"})).await;
    let done = feed
        .until(|e| {
            e.event == "task" && e.data["id"] == id.as_str() && e.data["status"] == "success"
        })
        .await;
    assert_eq!(done.data["name"], "shout");
    assert_eq!(done.data["attempt"], 0);
    assert_eq!(done.data["original_task_id"], id.as_str());
    let counts = feed
        .until(|e| e.event == "counts" && e.data["states"]["success"] == 1)
        .await;
    assert_eq!(counts.data["attempts"], 1);
    api.stop().await;
}

#[tokio::test]
async fn a_read_only_token_may_listen_and_no_token_may_not() {
    let api = Harness::embedded(both_tokens(), |_| {}).await;
    let mut feed = open_feed(&api, Some(READER)).await;
    assert_eq!(feed.next().await.event, "counts");
    let _admin = open_feed(&api, Some(ADMIN)).await;
    let refused = api.call_raw(events_request(None)).await.expect(401);
    assert_eq!(refused.code(), "unauthorized");
}

#[tokio::test]
async fn stopping_the_server_ends_an_open_stream() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = Config::embedded(dir.path().join("cogman.db"));
    let backends = cogman::backends::Backends::open(&config)
        .await
        .expect("backends open");
    let state = ApiState::new(backends.client(&config), ApiOptions::default());
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(cogman_api::serve_listener(listener, state, async move {
        let _ = stopped.await;
    }));

    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream
        .write_all(b"GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .expect("write");
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(WAIT, async {
        while !String::from_utf8_lossy(&seen).contains("event: counts") {
            let n = stream.read(&mut buf).await.expect("read");
            assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&seen));
            seen.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .expect("the first event arrives");
    assert!(String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 200"));

    stop.send(()).expect("the server runs");
    tokio::time::timeout(WAIT, server)
        .await
        .expect("the server stops with the stream open")
        .expect("joined")
        .expect("served without error");
    let closed = tokio::time::timeout(WAIT, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the stream is still open after the stop");
}
