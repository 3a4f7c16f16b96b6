//! [`PrivatePostgres`]: a PostgreSQL cluster of the test's own — `initdb` into a scratch
//! directory as the `postgres` user (trust auth), served on 127.0.0.1 and a free port with its
//! socket in the same directory, with a `test` database. `stop` is `pg_ctl stop -m immediate`
//! (a crash: no shutdown checkpoint), `start_again` recovers it from its WAL.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU16, Ordering};

use tokio::process::Command;

use super::{START_ATTEMPTS, ServerError, command, ports, scratch};

/// The user the cluster runs as.
const USER: &str = "postgres";

/// A private PostgreSQL cluster; stopped and removed when dropped.
#[derive(Debug)]
pub struct PrivatePostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: AtomicU16,
}

impl PrivatePostgres {
    /// Creates a cluster and starts it on a free port (another one is tried when that fails).
    ///
    /// # Errors
    /// [`ServerError::NotInstalled`] without `/usr/lib/postgresql/*/bin/initdb`; the failing
    /// step's [`ServerError`] otherwise.
    pub async fn start() -> Result<PrivatePostgres, ServerError> {
        let bin = bin_dir()?;
        let dir = scratch::fresh("postgres")?;
        let cluster = PrivatePostgres {
            bin,
            dir,
            port: AtomicU16::new(0),
        };
        for sub in ["data", "run"] {
            let path = cluster.dir.join(sub);
            std::fs::create_dir_all(&path)
                .map_err(ServerError::io(format!("creating {}", path.display())))?;
            scratch::give_to(&path, USER).await?;
        }
        let data = cluster.data();
        command::output(cluster.as_postgres("initdb").arg("-D").arg(&data).args([
            "-A",
            "trust",
            "-U",
            USER,
            "-E",
            "UTF8",
            "--no-sync",
        ]))
        .await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            cluster.port.store(ports::free_port()?, Ordering::Relaxed);
            match cluster.start_again().await {
                Ok(()) => break,
                Err(error) if attempt >= START_ATTEMPTS => return Err(error),
                Err(error) => {
                    eprintln!("private PostgreSQL did not start ({error}); trying another port")
                }
            }
        }
        let port = cluster.port().to_string();
        command::output(cluster.as_postgres("createdb").args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "test",
        ]))
        .await?;
        Ok(cluster)
    }

    /// `postgres://postgres@127.0.0.1:{port}/test`.
    pub fn uri(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/test", self.port())
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port.load(Ordering::Relaxed)
    }

    /// `pg_ctl stop -m immediate`: every backend is killed without a checkpoint.
    ///
    /// # Errors
    /// [`ServerError::Failed`] when `pg_ctl` fails.
    pub async fn stop(&self) -> Result<(), ServerError> {
        let data = self.data();
        command::output(self.as_postgres("pg_ctl").arg("-D").arg(&data).args([
            "-m",
            "immediate",
            "-w",
            "stop",
        ]))
        .await
        .map(drop)
    }

    /// `pg_ctl start` on the cluster's port; returns once it accepts connections.
    ///
    /// # Errors
    /// [`ServerError::Failed`] with the end of the server log.
    pub async fn start_again(&self) -> Result<(), ServerError> {
        let data = self.data();
        let run = self.dir.join("run");
        let log = run.join("postgres.log");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port(),
            run.display()
        );
        command::quiet(
            self.as_postgres("pg_ctl")
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-o", &options, "-w", "-t", "60", "start"]),
            &log,
        )
        .await
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// `runuser -u postgres -- <bin>/<program>`.
    fn as_postgres(&self, program: &str) -> Command {
        let mut command = Command::new("runuser");
        command
            .args(["-u", USER, "--"])
            .arg(self.bin.join(program))
            .current_dir(&self.dir);
        command
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has `initdb`.
fn bin_dir() -> Result<PathBuf, ServerError> {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(root)
        .map_err(|_| ServerError::NotInstalled(format!("{}/*/bin/initdb", root.display())))?
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .ok_or_else(|| ServerError::NotInstalled(format!("{}/*/bin/initdb", root.display())))
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data().to_string_lossy().into_owned();
        let pg_ctl = self.bin.join("pg_ctl").to_string_lossy().into_owned();
        command::best_effort(
            "runuser",
            &[
                "-u",
                USER,
                "--",
                &pg_ctl,
                "-D",
                &data,
                "-m",
                "immediate",
                "-w",
                "stop",
            ],
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
