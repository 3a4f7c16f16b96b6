//! [`PrivateRedis`]: a `redis-server` of the test's own on a free port, without persistence
//! (`--save '' --appendonly no`), so a stop (kill) loses everything it held — like a Redis
//! restarted without persistence in production.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::{Child, Command};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{START_ATTEMPTS, ServerError, command, ports, scratch};

/// How long the server may take to answer PING.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// A private Redis; killed and removed when dropped.
#[derive(Debug)]
pub struct PrivateRedis {
    port: u16,
    dir: PathBuf,
    process: Mutex<Option<Child>>,
}

impl PrivateRedis {
    /// Starts a fresh server on a free port (another one is tried when that fails).
    ///
    /// # Errors
    /// The last attempt's [`ServerError`].
    pub async fn start() -> Result<PrivateRedis, ServerError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let port = ports::free_port()?;
            let redis = PrivateRedis {
                port,
                dir: scratch::fresh(&format!("redis-{port}"))?,
                process: Mutex::new(None),
            };
            match redis.run().await {
                Ok(()) => return Ok(redis),
                Err(error) if attempt >= START_ATTEMPTS => return Err(error),
                Err(error) => eprintln!(
                    "private Redis on port {port} did not start ({error}); trying another port"
                ),
            }
        }
    }

    /// `redis://127.0.0.1:{port}`.
    pub fn uri(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (SIGKILL): every key it held is gone.
    pub async fn stop(&self) {
        if let Some(mut child) = self.process.lock().await.take() {
            let _ = child.kill().await;
        }
    }

    /// Starts the server again on the same port, empty. Does nothing if it runs.
    ///
    /// # Errors
    /// [`ServerError`] when it does not answer PING in time (the port was taken, say).
    pub async fn start_again(&self) -> Result<(), ServerError> {
        self.run().await
    }

    async fn run(&self) -> Result<(), ServerError> {
        let mut process = self.process.lock().await;
        if process.is_some() {
            return Ok(());
        }
        let mut server = Command::new("redis-server");
        server
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .arg("--logfile")
            .arg(self.dir.join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        let line = command::describe(&server);
        let mut child = server.spawn().map_err(|source| ServerError::Spawn {
            command: line.clone(),
            source,
        })?;
        let deadline = Instant::now() + START_DEADLINE;
        while !self.answers_ping().await {
            if let Ok(Some(status)) = child.try_wait() {
                let out = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
                return Err(ServerError::Failed {
                    command: line,
                    status: status.to_string(),
                    output: command::tail(&out),
                });
            }
            if Instant::now() >= deadline {
                let _ = child.kill().await;
                return Err(ServerError::Timeout {
                    what: format!("Redis on port {} to answer", self.port),
                    timeout: START_DEADLINE,
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        *process = Some(child);
        Ok(())
    }

    async fn answers_ping(&self) -> bool {
        let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        if stream.write_all(b"PING\r\n").await.is_err() {
            return false;
        }
        let mut reply = [0_u8; 7];
        matches!(
            tokio::time::timeout(Duration::from_secs(1), stream.read_exact(&mut reply)).await,
            Ok(Ok(_))
        ) && &reply == b"+PONG\r\n"
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        if let Some(child) = self.process.get_mut().as_mut() {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
