//! `cogman serve`: the REST API (and, unless `--no-worker`, a worker with shell-command
//! handlers) until Ctrl-C or SIGTERM. Tokens come from `--token-file` and/or
//! `COGMAN_API_TOKENS`; without tokens only a loopback address is allowed.

use std::path::Path;

use anyhow::{Context, Result};
use cogman::Config;
use cogman::backends::Backends;
use cogman_api::{ApiOptions, ApiState, TokenEntry};

use super::shell_handler::ShellHandler;
use super::worker::parse_handler;
use crate::cli::ServeArgs;

/// The environment variable holding tokens (`role:token`, comma- or newline-separated).
const TOKENS_ENV: &str = "COGMAN_API_TOKENS";

/// Tokens from the file and the environment.
fn load_tokens(file: Option<&Path>) -> Result<Vec<TokenEntry>> {
    let mut tokens = Vec::new();
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading token file {}", path.display()))?;
        tokens.extend(
            cogman_api::parse_tokens(&text)
                .with_context(|| format!("in token file {}", path.display()))?,
        );
    }
    if let Ok(text) = std::env::var(TOKENS_ENV) {
        tokens.extend(cogman_api::parse_tokens(&text).with_context(|| format!("in {TOKENS_ENV}"))?);
    }
    Ok(tokens)
}

pub(crate) async fn run(config: Config, args: ServeArgs) -> Result<()> {
    let options = ApiOptions::with_tokens(load_tokens(args.token_file.as_deref())?);
    cogman_api::check_bind(args.listen, &options)?;
    let backends = Backends::open(&config)
        .await
        .context("opening the backends")?;
    let client = backends.client(&config);
    let mut state = ApiState::new(client.clone(), options);
    let worker = if args.no_worker {
        None
    } else {
        let worker = backends.worker_with(&config, client.clone());
        for spec in &args.handlers {
            let (name, command) = parse_handler(spec)?;
            worker.register(name, ShellHandler::new(command.to_owned()))?;
        }
        state = state.with_worker(worker.clone());
        worker.start().await.context("starting the worker")?;
        Some(worker)
    };
    let auth = if state.options().requires_auth() {
        "token auth"
    } else {
        "no auth"
    };
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    eprintln!(
        "cogman API listening on http://{addr}{} ({auth}); Ctrl-C to stop",
        cogman_api::PREFIX
    );
    let served = cogman_api::serve_listener(listener, state, super::shutdown_signal()).await;
    if let Some(worker) = worker {
        worker.stop().await;
    }
    client.close().await;
    served.context("serving the API")?;
    Ok(())
}
