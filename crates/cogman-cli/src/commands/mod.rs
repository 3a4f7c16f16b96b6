//! One file per subcommand; [`run`] dispatches to them.

mod actions;
mod bench;
mod dead_letters;
mod demo;
mod inspect;
pub(crate) mod limit;
pub(crate) mod queue;
mod report;
pub(crate) mod schedule;
mod send;
mod serve;
mod shell_handler;
mod wait;
mod worker;
mod worker_metrics;

pub(crate) use shell_handler::HANDLER_VARIABLES;

use crate::remote::RemoteClient;
use anyhow::{Context, Result, bail};
use cogman::{Client, Config, SendReceipt};

use crate::cli::{Cli, Command, RemoteArgs};
use crate::output::outln;
use crate::settings;

/// The API client `--server` asks for, if any.
fn remote_client(args: &RemoteArgs) -> Result<Option<RemoteClient>> {
    args.server
        .as_deref()
        .map(|url| RemoteClient::new(url, args.token.clone()).context("--server"))
        .transpose()
}

/// Runs `op` with a client connected as `config` says, and closes the client whatever the
/// outcome.
async fn with_client<T, E>(
    config: &Config,
    op: impl AsyncFnOnce(&Client) -> Result<T, E>,
) -> Result<T>
where
    anyhow::Error: From<E>,
{
    let client = Client::connect(config).await.context("connecting")?;
    let outcome = op(&client).await;
    // Also closes the broker it owns: the publisher's channel, then the connection, in that
    // order (a client dropped without closing closes both at once).
    client.close().await;
    Ok(outcome?)
}

/// For a command that only reads or acts on existing tasks: fails, creating nothing, when the
/// task log is the embedded SQLite file and that file does not exist (a typo in `--db`, or a
/// command run in another folder than the one the tasks were sent from).
fn require_existing_database(config: &Config) -> Result<()> {
    let log_in_sqlite = config.redis.uri.is_none() && config.postgres.uri.is_none();
    if log_in_sqlite && !config.sqlite.path.exists() {
        bail!(
            "no database at {}: no task was sent with this file (check --db, COGMAN_SQLITE_PATH or the \
             folder you run cogman in; the default is ./cogman.db)",
            config.sqlite.path.display()
        );
    }
    Ok(())
}

/// Prints what a send or retry answered: the task id on stdout, its status on stderr.
fn print_receipt(receipt: &SendReceipt) -> Result<()> {
    outln!("{}", receipt.id)?;
    eprintln!(
        "status: {}",
        serde_json::to_value(receipt.status)?
            .as_str()
            .unwrap_or("unknown")
    );
    Ok(())
}

/// The `--server`/`--token` options of the commands that take them.
fn remote_args(command: &Command) -> Option<&RemoteArgs> {
    match command {
        Command::Send(args) => Some(&args.remote),
        Command::Status(args) => Some(&args.remote),
        Command::Tasks(args) => Some(&args.remote),
        Command::Retry(args) => Some(&args.remote),
        Command::Cancel(args) => Some(&args.remote),
        Command::DeadLetters(command) => Some(command.remote()),
        Command::Schedule(args) => args.remote(),
        Command::Demo(_)
        | Command::Worker(_)
        | Command::Bench(_)
        | Command::Serve(_)
        | Command::Queue(_)
        | Command::Limit(_) => None,
    }
}

/// Runs the parsed command line.
pub(crate) async fn run(cli: Cli) -> Result<()> {
    let config = settings::load(&cli.config)?;
    let db_given = cli.config.db.is_some();
    let remote = match remote_args(&cli.command) {
        Some(args) => remote_client(args)?,
        None => None,
    };
    match cli.command {
        Command::Demo(args) => demo::run(config, args, db_given).await,
        Command::Worker(args) => worker::run(config, args).await,
        Command::Send(args) => send::run(config, args, remote).await,
        Command::Status(args) => inspect::status(config, args, remote).await,
        Command::Tasks(args) => inspect::tasks(config, args, remote).await,
        Command::Bench(args) => bench::run(config, args).await,
        Command::Serve(args) => serve::run(config, args).await,
        Command::Retry(args) => actions::retry(config, args, remote).await,
        Command::Cancel(args) => actions::cancel(config, args, remote).await,
        Command::Schedule(args) => schedule::run(config, args, remote).await,
        Command::Queue(args) => queue::run(config, args).await,
        Command::Limit(args) => limit::run(config, args).await,
        Command::DeadLetters(command) => dead_letters::run(config, command, remote).await,
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
