//! [`PrivateRabbit`]: a RabbitMQ node of the test's own — node name `cogmantest{port}@localhost`,
//! AMQP on 127.0.0.1:`port`, distribution on another free port, data and logs in a scratch
//! directory owned by the `rabbitmq` user (Debian's scripts drop root) — so stopping, cutting or
//! killing it never disturbs the shared broker other tests use. [`PrivateRabbit::freeze`] hangs
//! the node (`kill -STOP`) until its [`FrozenRabbit`] guard thaws it (`kill -CONT`).
//! [`PrivateRabbit::start_also_on`] boots a node that also serves AMQP on a second address (a
//! veth end, say), where `guest` may log in too.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use tokio::time::Instant;

use super::{START_ATTEMPTS, ServerError, command, ports, scratch};

/// How long a node may take to boot (it is CPU-heavy on a small, busy machine).
const BOOT_DEADLINE: Duration = Duration::from_secs(90);
/// How long `kill` waits for the listener to go away.
const KILL_DEADLINE: Duration = Duration::from_secs(15);

/// A private RabbitMQ node; stopped and removed when dropped.
#[derive(Debug)]
pub struct PrivateRabbit {
    name: String,
    port: u16,
    dist_port: u16,
    dir: PathBuf,
}

impl PrivateRabbit {
    /// Boots a fresh node on free ports (new ports are tried when the boot fails).
    ///
    /// # Errors
    /// The last boot's [`ServerError`].
    pub async fn start() -> Result<PrivateRabbit, ServerError> {
        PrivateRabbit::start_listening(None).await
    }

    /// As [`PrivateRabbit::start`], and the node also serves AMQP on `address` (same port),
    /// where `guest` may log in as well (RabbitMQ lets it in from loopback only by default).
    /// `address` must be assigned to an interface of this host before the call.
    ///
    /// # Errors
    /// The last boot's [`ServerError`].
    pub async fn start_also_on(address: IpAddr) -> Result<PrivateRabbit, ServerError> {
        PrivateRabbit::start_listening(Some(address)).await
    }

    async fn start_listening(also_on: Option<IpAddr>) -> Result<PrivateRabbit, ServerError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (port, dist_port) = ports::free_pair()?;
            let node = PrivateRabbit::prepare(port, dist_port, also_on).await?;
            match node.boot().await {
                Ok(()) => return Ok(node),
                Err(error) if attempt >= START_ATTEMPTS => return Err(error),
                Err(error) => eprintln!(
                    "private RabbitMQ on port {port} did not boot ({error}); trying other ports"
                ),
            }
        }
    }

    async fn prepare(
        port: u16,
        dist_port: u16,
        also_on: Option<IpAddr>,
    ) -> Result<PrivateRabbit, ServerError> {
        let dir = scratch::fresh(&format!("rabbit-{port}"))?;
        for sub in ["mnesia", "log"] {
            std::fs::create_dir_all(dir.join(sub)).map_err(ServerError::io(format!(
                "creating {sub} in {}",
                dir.display()
            )))?;
        }
        let write = |name: &str, text: String| {
            std::fs::write(dir.join(name), text).map_err(ServerError::io(format!("writing {name}")))
        };
        write("enabled_plugins", "[].\n".into())?;
        let mut conf = format!("listeners.tcp.default = 127.0.0.1:{port}\n");
        if let Some(address) = also_on {
            let socket = std::net::SocketAddr::new(address, port);
            conf.push_str(&format!(
                "listeners.tcp.also = {socket}\nloopback_users.guest = false\n"
            ));
        }
        write("rabbitmq.conf", conf)?;
        scratch::give_to(&dir, "rabbitmq").await?;
        Ok(PrivateRabbit {
            name: format!("cogmantest{port}@localhost"),
            port,
            dist_port,
            dir,
        })
    }

    /// `amqp://guest:guest@127.0.0.1:{port}/%2f`.
    pub fn uri(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// `amqp://guest:guest@{address}:{port}/%2f`: the node as reached at another address (the
    /// one given to [`PrivateRabbit::start_also_on`]).
    pub fn uri_at(&self, address: IpAddr) -> String {
        let socket = std::net::SocketAddr::new(address, self.port);
        format!("amqp://guest:guest@{socket}/%2f")
    }

    /// The AMQP port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The Erlang node name (`rabbitmqctl -n`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Starts the server process on the node's directory and waits until it serves AMQP.
    ///
    /// # Errors
    /// [`ServerError::Failed`] with the end of the node's log when the server exits;
    /// [`ServerError::Timeout`] when it does not serve in time.
    pub async fn boot(&self) -> Result<(), ServerError> {
        let path = |name: &str| self.dir.join(name);
        let mut server = Command::new("setsid");
        server
            .arg("rabbitmq-server")
            .env("RABBITMQ_NODENAME", &self.name)
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", path("mnesia"))
            .env("RABBITMQ_LOG_BASE", path("log"))
            .env("RABBITMQ_CONFIG_FILE", path("rabbitmq.conf"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", path("enabled_plugins"))
            .env("RABBITMQ_PID_FILE", path("pid"))
            // Schedulers that sleep instead of spinning when idle: a test machine has few
            // cores, shared with the shared broker, the tests and other private nodes.
            .env(
                "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS",
                "+sbwt none +sbwtdcpu none +sbwtdio none",
            )
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let line = command::describe(&server);
        let mut child = server.spawn().map_err(|source| ServerError::Spawn {
            command: line.clone(),
            source,
        })?;
        let deadline = Instant::now() + BOOT_DEADLINE;
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(ServerError::Failed {
                    command: line,
                    status: status.to_string(),
                    output: self.log_tail(),
                });
            }
            if Instant::now() >= deadline {
                return Err(ServerError::Timeout {
                    what: format!("RabbitMQ node {} to boot", self.name),
                    timeout: BOOT_DEADLINE,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.ctl(&["await_startup", "--timeout", "60"]).await
    }

    /// Runs `rabbitmqctl -n <node> args…`.
    ///
    /// # Errors
    /// [`ServerError::Failed`] with its output.
    pub async fn ctl(&self, args: &[&str]) -> Result<(), ServerError> {
        command::output(
            Command::new("rabbitmqctl")
                .args(["-n", &self.name])
                .args(args),
        )
        .await
        .map(drop)
    }

    /// Runs `rabbitmqctl -n <node> args…` and returns what it printed.
    ///
    /// # Errors
    /// [`ServerError::Failed`] with its output.
    pub async fn ctl_output(&self, args: &[&str]) -> Result<String, ServerError> {
        command::output(
            Command::new("rabbitmqctl")
                .args(["-n", &self.name])
                .args(args),
        )
        .await
    }

    /// `rabbitmqctl stop_app`: the node stays up, AMQP is refused, every connection is closed.
    ///
    /// # Errors
    /// As [`PrivateRabbit::ctl`].
    pub async fn stop_app(&self) -> Result<(), ServerError> {
        self.ctl(&["stop_app"]).await
    }

    /// `rabbitmqctl start_app`: serves AMQP again (durable queues and persistent messages kept).
    ///
    /// # Errors
    /// As [`PrivateRabbit::ctl`].
    pub async fn start_app(&self) -> Result<(), ServerError> {
        self.ctl(&["start_app"]).await?;
        command::until_listening(self.port, BOOT_DEADLINE).await
    }

    /// `rabbitmqctl close_all_connections`: cuts every client connection; the node stays up.
    ///
    /// # Errors
    /// As [`PrivateRabbit::ctl`].
    pub async fn close_all_connections(&self) -> Result<(), ServerError> {
        self.ctl(&["close_all_connections", "cut by a cogman fault test"])
            .await
    }

    /// `kill -9` of the node's Erlang VM; returns once its listener is gone.
    ///
    /// # Errors
    /// [`ServerError::Io`] without a pid file; [`ServerError::Failed`] when `kill` fails.
    pub async fn kill(&self) -> Result<(), ServerError> {
        let pid = self.pid()?;
        command::output(Command::new("kill").args(["-9", &pid])).await?;
        command::until_closed(self.port, KILL_DEADLINE).await
    }

    /// `kill -STOP` of the node's Erlang VM: the node keeps its sockets but answers nothing
    /// (a hung broker) until the returned guard is thawed or dropped (`kill -CONT`).
    ///
    /// # Errors
    /// [`ServerError::Io`] without a pid file; [`ServerError::Failed`] when the pid is not
    /// this node's VM or `kill` fails.
    pub async fn freeze(&self) -> Result<FrozenRabbit, ServerError> {
        let pid = self.pid()?;
        if !is_this_node(&pid, &self.dir) {
            return Err(ServerError::Failed {
                command: format!("kill -STOP {pid}"),
                status: "not run".into(),
                output: format!("process {pid} is not the VM of node {}", self.name),
            });
        }
        command::output(Command::new("kill").args(["-STOP", &pid])).await?;
        Ok(FrozenRabbit { pid, thawed: false })
    }

    fn pid(&self) -> Result<String, ServerError> {
        let text = std::fs::read_to_string(self.dir.join("pid"))
            .map_err(ServerError::io("reading the node's pid file"))?;
        Ok(text.trim().to_owned())
    }

    fn log_tail(&self) -> String {
        command::tail(&read_logs(&self.dir.join("log")))
    }
}

fn read_logs(dir: &Path) -> String {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return String::new();
    };
    entries
        .flatten()
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect::<Vec<_>>()
        .join("\n")
}

/// True when process `pid` is the Erlang VM of the node in `dir` (not a process that reused
/// the pid): a `beam` whose command line or environment names the directory.
fn is_this_node(pid: &str, dir: &Path) -> bool {
    let read = |file: &str| {
        std::fs::read(format!("/proc/{pid}/{file}"))
            .map(|b| String::from_utf8_lossy(&b).into_owned())
    };
    let dir = dir.to_string_lossy();
    read("cmdline").is_ok_and(|cmdline| {
        cmdline.contains("beam")
            && (cmdline.contains(dir.as_ref())
                || read("environ").is_ok_and(|env| env.contains(dir.as_ref())))
    })
}

/// A node stopped by [`PrivateRabbit::freeze`]; resumed by [`FrozenRabbit::thaw`], or when
/// dropped, so a failed assertion never leaves it stopped.
#[derive(Debug)]
#[must_use = "the node resumes as soon as the guard is dropped"]
pub struct FrozenRabbit {
    pid: String,
    thawed: bool,
}

impl FrozenRabbit {
    /// `kill -CONT`: the node runs again.
    ///
    /// # Errors
    /// [`ServerError::Spawn`] or [`ServerError::Failed`] when `kill` cannot run or fails.
    pub async fn thaw(mut self) -> Result<(), ServerError> {
        self.thawed = true;
        command::output(Command::new("kill").args(["-CONT", &self.pid]))
            .await
            .map(drop)
    }
}

impl Drop for FrozenRabbit {
    fn drop(&mut self) {
        if !self.thawed {
            command::best_effort("kill", &["-CONT", &self.pid]);
        }
    }
}

impl Drop for PrivateRabbit {
    fn drop(&mut self) {
        let stopped = command::best_effort("rabbitmqctl", &["-n", &self.name, "stop"]);
        // A node that does not answer (killed, or wedged) may still have its VM running.
        if !stopped
            && let Ok(pid) = self.pid()
            && is_this_node(&pid, &self.dir)
        {
            command::best_effort("kill", &["-9", &pid]);
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
