//! The accept loop behind [`serve_listener`](crate::serve_listener), with the limits that keep
//! a client from holding the server's connections: at most
//! [`max_connections`](crate::ApiOptions::max_connections) at once (a further one is answered
//! 503 and closed), and each one closed when it stays [`Phase::Idle`] longer than
//! `idle_timeout` (a new connection that sends nothing, or a kept-alive one between requests)
//! or in [`Phase::Head`] longer than `header_read_timeout` (a request header that never ends).
//! On shutdown it stops accepting, lets each connection finish its request, and returns when
//! every connection is closed.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt as _;

use crate::error::ApiError;
use crate::options::ApiOptions;

/// The connection limits, from [`ApiOptions`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnectionLimits {
    header_read_timeout: Duration,
    idle_timeout: Duration,
    max_connections: u32,
}

impl From<&ApiOptions> for ConnectionLimits {
    fn from(options: &ApiOptions) -> Self {
        ConnectionLimits {
            header_read_timeout: options.header_read_timeout,
            idle_timeout: options.idle_timeout,
            max_connections: u32::try_from(options.max_connections).unwrap_or(u32::MAX),
        }
    }
}

/// Where a connection is between requests.
#[derive(Debug, Clone, Copy)]
enum Phase {
    /// No request in progress and no byte of the next one yet, since this instant (the last
    /// byte written counts too, so a slow reader of a long answer is not idle).
    Idle(Instant),
    /// The first bytes of a request arrived at this instant; its header is not complete.
    Head(Instant),
    /// This many requests are being answered.
    Busy(usize),
}

/// A connection's phase, shared by its socket, its request handler and its watchdog.
#[derive(Debug, Clone)]
struct Activity(Arc<watch::Sender<Phase>>);

impl Activity {
    fn new() -> Self {
        Activity(Arc::new(watch::Sender::new(Phase::Idle(Instant::now()))))
    }

    /// Bytes were read: the first ones of a request start its header's clock.
    fn read(&self) {
        self.0.send_if_modified(|phase| match *phase {
            Phase::Idle(_) => {
                *phase = Phase::Head(Instant::now());
                true
            }
            Phase::Head(_) | Phase::Busy(_) => false,
        });
    }

    /// Bytes were written: an idle connection is busy answering.
    fn wrote(&self) {
        self.0.send_if_modified(|phase| match *phase {
            Phase::Idle(_) => {
                *phase = Phase::Idle(Instant::now());
                true
            }
            Phase::Head(_) | Phase::Busy(_) => false,
        });
    }

    /// A request's header is complete; the guard ends it.
    fn begin(&self) -> RequestGuard {
        self.0.send_modify(|phase| {
            *phase = match *phase {
                Phase::Busy(n) => Phase::Busy(n + 1),
                Phase::Idle(_) | Phase::Head(_) => Phase::Busy(1),
            };
        });
        RequestGuard(self.clone())
    }
}

/// Ends a request when dropped (also when the request's future is dropped).
struct RequestGuard(Activity);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.0.send_modify(|phase| {
            *phase = match *phase {
                Phase::Busy(n) if n > 1 => Phase::Busy(n - 1),
                _ => Phase::Idle(Instant::now()),
            };
        });
    }
}

/// A socket that reports its reads and writes to its [`Activity`].
struct Tracked {
    stream: TcpStream,
    activity: Activity,
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Accepts connections on `listener` and serves `app` on each until `shutdown` resolves.
///
/// # Errors
/// None today: accept errors (out of file descriptors, a connection reset while queued) are
/// logged and accepting goes on.
pub(crate) async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections as usize));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "accepting a connection failed");
                    // Out of file descriptors: give closing connections a moment.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        match Arc::clone(&permits).try_acquire_owned() {
            Ok(permit) => {
                tokio::spawn(serve_one(
                    stream,
                    app.clone(),
                    limits,
                    stopping.clone(),
                    permit,
                ));
            }
            Err(_) => {
                tokio::spawn(refuse(stream, limits.max_connections));
            }
        }
    }
    stop.send_replace(true);
    // Every connection holds a permit until it is closed.
    let _all_closed = permits.acquire_many(limits.max_connections).await;
    Ok(())
}

/// Answers 503 on a connection over the limit, and closes it.
async fn refuse(mut stream: TcpStream, max_connections: u32) {
    tracing::warn!(
        max_connections,
        "connection limit reached: refusing a connection"
    );
    let body = serde_json::to_string(
        &ApiError::Unavailable(format!(
            "the server already serves {max_connections} connections; try again later"
        ))
        .body(),
    )
    .unwrap_or_default();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\nretry-after: 1\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    };
    // A client that does not read its answer does not hold the task.
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

/// Sleeps until `deadline`, or forever without one.
async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Serves one connection until the client closes it, a timeout closes it, or the server stops.
async fn serve_one(
    stream: TcpStream,
    app: Router,
    limits: ConnectionLimits,
    mut stopping: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let _ = stream.set_nodelay(true);
    let activity = Activity::new();
    let mut phases = activity.0.subscribe();
    let io = TokioIo::new(Tracked {
        stream,
        activity: activity.clone(),
    });
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let guard = activity.begin();
        let app = app.clone();
        async move {
            let response = app.oneshot(request).await;
            drop(guard);
            response.map_err(|never: Infallible| match never {})
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .header_read_timeout(None)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let mut stop_asked = false;
    loop {
        let (deadline, what) = match *phases.borrow_and_update() {
            Phase::Idle(since) => (Some(since + limits.idle_timeout), "idle"),
            Phase::Head(since) => (
                Some(since + limits.header_read_timeout),
                "reading a request header",
            ),
            Phase::Busy(_) => (None, "busy"),
        };
        tokio::select! {
            served = connection.as_mut() => {
                if let Err(error) = served {
                    tracing::debug!(%error, "connection ended with an error");
                }
                return;
            }
            () = until(deadline) => {
                tracing::debug!(phase = what, "closing a connection past its timeout");
                return;
            }
            Ok(()) = phases.changed() => {}
            Ok(()) = stopping.changed(), if !stop_asked => {
                stop_asked = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}
