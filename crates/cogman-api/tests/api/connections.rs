//! The server's connection limits over real sockets: a connection that sends nothing, half a
//! header, or nothing after its last request is closed by its timeout; connections over the
//! limit get a 503 and are closed. Timeouts are made small through `ApiOptions`; each test
//! waits for the close with a deadline.

use std::net::SocketAddr;
use std::time::Duration;

use cogman::Config;
use cogman::backends::Backends;
use cogman_api::{ApiOptions, ApiState};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// How long a test waits for the server to close a connection.
const DEADLINE: Duration = Duration::from_secs(10);
/// A timeout no test reaches.
const LONG: Duration = Duration::from_secs(120);

/// A real server on a free loopback port; stopped when dropped.
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start(options: ApiOptions) -> Server {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = Config::embedded(dir.path().join("cogman.db"));
        let backends = Backends::open(&config).await.expect("backends open");
        let state = ApiState::new(backends.client(&config), options);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(cogman_api::serve_listener(listener, state, async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stop: Some(stop),
            _dir: dir,
        }
    }

    async fn connect(&self) -> TcpStream {
        TcpStream::connect(self.addr).await.expect("connect")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Reads until the server closes the connection (end of file or reset); returns what was
/// read. Fails the test when the connection is still open at the deadline.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    let closed = tokio::time::timeout(DEADLINE, async {
        let mut buf = [0u8; 4096];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "the server kept the connection open for {DEADLINE:?}; read {:?}",
        String::from_utf8_lossy(&seen)
    );
    seen
}

const HEALTHZ: &[u8] = b"GET /api/v1/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed_when_idle() {
    let server = Server::start(ApiOptions {
        idle_timeout: Duration::from_millis(300),
        header_read_timeout: LONG,
        ..ApiOptions::default()
    })
    .await;
    let mut silent = server.connect().await;
    assert!(read_until_closed(&mut silent).await.is_empty());
}

#[tokio::test]
async fn half_a_header_is_closed_by_the_header_timeout() {
    let server = Server::start(ApiOptions {
        idle_timeout: LONG,
        header_read_timeout: Duration::from_millis(300),
        ..ApiOptions::default()
    })
    .await;
    let mut slow = server.connect().await;
    slow.write_all(b"GET /api/v1/healthz HTTP/1.1\r\nHost: 127.0")
        .await
        .expect("write");
    let answer = read_until_closed(&mut slow).await;
    assert!(
        !answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_after_its_idle_timeout() {
    let server = Server::start(ApiOptions {
        idle_timeout: Duration::from_millis(300),
        header_read_timeout: LONG,
        ..ApiOptions::default()
    })
    .await;
    let mut client = server.connect().await;
    client.write_all(HEALTHZ).await.expect("write");
    let answer = read_until_closed(&mut client).await;
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.contains("{\"status\":\"ok\"}"), "{text}");
}

#[tokio::test]
async fn connections_over_the_limit_get_503_and_are_closed() {
    let server = Server::start(ApiOptions {
        max_connections: 2,
        idle_timeout: LONG,
        header_read_timeout: LONG,
        ..ApiOptions::default()
    })
    .await;
    let mut first = server.connect().await;
    let _second = server.connect().await;
    // The first is served (so both are accepted before the third arrives).
    first.write_all(HEALTHZ).await.expect("write");
    let mut buf = [0u8; 12];
    tokio::time::timeout(DEADLINE, first.read_exact(&mut buf))
        .await
        .expect("answered in time")
        .expect("read");
    assert_eq!(&buf, b"HTTP/1.1 200");

    let mut third = server.connect().await;
    let refused = String::from_utf8_lossy(&read_until_closed(&mut third).await).into_owned();
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    assert!(refused.contains("\"error\":\"unavailable\""), "{refused}");

    // Once one closes, a new connection is served again.
    drop(first);
    cogman_testkit::wait_until("a connection to be served again", DEADLINE, || async {
        let mut again = server.connect().await;
        if again.write_all(HEALTHZ).await.is_err() {
            return false;
        }
        let mut buf = [0u8; 12];
        matches!(
            tokio::time::timeout(DEADLINE, again.read_exact(&mut buf)).await,
            Ok(Ok(_))
        ) && &buf == b"HTTP/1.1 200"
    })
    .await
    .expect("served after a slot frees");
}
