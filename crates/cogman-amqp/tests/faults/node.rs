//! A private RabbitMQ node for fault tests (the recipe of `reliability.md`): its own node name,
//! ports and data directory (owned by the `rabbitmq` user, as Debian's scripts drop root), so
//! stopping or killing it never disturbs the shared broker other tests use.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;
use tokio::time::Instant;

/// How long a node may take to boot.
const BOOT_DEADLINE: Duration = Duration::from_secs(60);

pub(crate) struct PrivateNode {
    pub(crate) name: String,
    port: u16,
    dist_port: u16,
    dir: PathBuf,
}

impl PrivateNode {
    /// Boots a fresh node `{short_name}@localhost` listening on 127.0.0.1:`port`.
    pub(crate) async fn start(short_name: &str, port: u16) -> PrivateNode {
        let name = format!("{short_name}@localhost");
        // A node left over by an earlier, aborted run.
        let _ = rabbitmqctl(&name, &["stop"]).await;
        let dir = std::env::temp_dir().join(format!("cogman-amqp-{short_name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("mnesia")).expect("node dir");
        std::fs::create_dir_all(dir.join("log")).expect("node log dir");
        std::fs::write(dir.join("enabled_plugins"), "[].\n").expect("plugins file");
        std::fs::write(
            dir.join("rabbitmq.conf"),
            format!("listeners.tcp.default = 127.0.0.1:{port}\n"),
        )
        .expect("config file");
        let chown = Command::new("chown")
            .args(["-R", "rabbitmq:rabbitmq"])
            .arg(&dir)
            .status()
            .await
            .expect("chown runs");
        assert!(chown.success(), "chown the node dir to rabbitmq");
        let node = PrivateNode {
            name,
            port,
            dist_port: port + 20_000,
            dir,
        };
        node.boot().await;
        node
    }

    pub(crate) fn uri(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:{}/%2f", self.port)
    }

    /// Starts the server process on the node's directory and waits until it serves.
    pub(crate) async fn boot(&self) {
        let d = &self.dir;
        let path = |name: &str| d.join(name).to_string_lossy().into_owned();
        Command::new("setsid")
            .arg("rabbitmq-server")
            .env("RABBITMQ_NODENAME", &self.name)
            .env("RABBITMQ_NODE_PORT", self.port.to_string())
            .env("RABBITMQ_DIST_PORT", self.dist_port.to_string())
            .env("RABBITMQ_MNESIA_BASE", path("mnesia"))
            .env("RABBITMQ_LOG_BASE", path("log"))
            .env("RABBITMQ_CONFIG_FILE", path("rabbitmq.conf"))
            .env("RABBITMQ_ENABLED_PLUGINS_FILE", path("enabled_plugins"))
            .env("RABBITMQ_PID_FILE", path("pid"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("rabbitmq-server starts");
        self.await_startup().await;
    }

    async fn await_startup(&self) {
        let deadline = Instant::now() + BOOT_DEADLINE;
        loop {
            if rabbitmqctl(&self.name, &["await_startup", "--timeout", "10"]).await {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "node {} did not start",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Runs `rabbitmqctl -n <node> args…` and asserts it succeeded.
    pub(crate) async fn ctl(&self, args: &[&str]) {
        assert!(rabbitmqctl(&self.name, args).await, "rabbitmqctl {args:?}");
    }

    pub(crate) async fn stop_app(&self) {
        assert!(rabbitmqctl(&self.name, &["stop_app"]).await, "stop_app");
    }

    pub(crate) async fn start_app(&self) {
        assert!(rabbitmqctl(&self.name, &["start_app"]).await, "start_app");
    }

    /// `kill -9` of the node's Erlang VM.
    pub(crate) async fn kill(&self) {
        let pid = std::fs::read_to_string(self.dir.join("pid")).expect("pid file");
        let killed = Command::new("kill")
            .args(["-9", pid.trim()])
            .status()
            .await
            .expect("kill runs");
        assert!(killed.success(), "kill -9 {pid}");
        // Wait until the listener is gone, so the restart is a real restart.
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_ok()
        {
            assert!(Instant::now() < deadline, "node still listening after kill");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for PrivateNode {
    fn drop(&mut self) {
        let _ = std::process::Command::new("rabbitmqctl")
            .args(["-n", &self.name, "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `rabbitmqctl -n node args…`; true on success.
async fn rabbitmqctl(node: &str, args: &[&str]) -> bool {
    Command::new("rabbitmqctl")
        .args(["-n", node])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await
        .is_ok_and(|s| s.success())
}
