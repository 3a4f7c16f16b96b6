//! One file per subcommand; [`run`] dispatches to them.

mod bench;
mod demo;
mod inspect;
mod report;
mod send;
mod shell_handler;
mod worker;

use anyhow::Result;

use crate::cli::{Cli, Command};
use crate::settings;

/// Runs the parsed command line.
pub(crate) async fn run(cli: Cli) -> Result<()> {
    let config = settings::load(&cli.config)?;
    match cli.command {
        Command::Demo(args) => demo::run(config, args).await,
        Command::Worker(args) => worker::run(config, args).await,
        Command::Send(args) => send::run(config, args).await,
        Command::Status(args) => inspect::status(config, args).await,
        Command::Tasks(args) => inspect::tasks(config, args).await,
        Command::Bench(args) => bench::run(config, args).await,
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
