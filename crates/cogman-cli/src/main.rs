//! The `cogman` binary: parses the command line, sets up logging, loads the configuration and
//! runs one command. The commands live in [`commands`], one file each.

mod cli;
mod commands;
mod display;
mod output;
mod remote;
mod settings;
mod table;

use std::io::IsTerminal;

use clap::Parser;

/// Whether stderr may carry ANSI colours: a terminal, and `NO_COLOR` unset.
fn colour_on_stderr() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("COGMAN_LOG").unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(if cli.verbose { "info" } else { "warn" })
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour_on_stderr())
        .init();
    match commands::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        // The reader of our output went away (`cogman tasks | head -1`): stop quietly.
        Err(error) if output::is_closed_pipe(&error) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            // An error may quote stored or foreign text (a name, a server's message): escaped.
            eprintln!("error: {}", display::escape(&format!("{error:#}")));
            std::process::ExitCode::FAILURE
        }
    }
}
