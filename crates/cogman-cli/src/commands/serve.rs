//! `cogman serve`: the REST API (and, unless `--no-worker`, a worker with shell-command
//! handlers) until Ctrl-C or SIGTERM; either way the process purges finished tasks older than
//! the TTL (the worker's purge, or its own). Tokens come from `--token-file` and/or
//! `COGMAN_API_TOKENS`; without tokens only a loopback address is allowed.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
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

/// The addresses `--listen` names: an IP address and port, or a host name (`localhost:8080`)
/// resolved to every address it has.
async fn resolve_listen(listen: &str) -> Result<Vec<SocketAddr>> {
    if let Ok(addr) = listen.parse::<SocketAddr>() {
        return Ok(vec![addr]);
    }
    if !listen.contains(':') {
        bail!("--listen expects HOST:PORT (e.g. 127.0.0.1:8080 or localhost:8080), got {listen:?}");
    }
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host(listen)
        .await
        .with_context(|| format!("--listen {listen:?}: cannot resolve the host name"))?
        .collect();
    if addrs.is_empty() {
        bail!("--listen {listen:?}: the host name has no address");
    }
    Ok(addrs)
}

/// Binds the first of `addrs` that accepts (after checking that every one may be served).
async fn bind(addrs: &[SocketAddr], options: &ApiOptions) -> Result<tokio::net::TcpListener> {
    for addr in addrs {
        cogman_api::check_bind(*addr, options)?;
    }
    let mut last_error = None;
    for addr in addrs {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(error) => last_error = Some((addr, error)),
        }
    }
    match last_error {
        Some((addr, error)) => Err(error).with_context(|| format!("listening on {addr}")),
        None => bail!("--listen names no address"),
    }
}

pub(crate) async fn run(config: Config, args: ServeArgs) -> Result<()> {
    if args.handlers.is_empty() && !args.no_worker {
        bail!(
            "no --handler given: pass --handler NAME=COMMAND (repeatable) for the worker, or \
             --no-worker to serve the API only"
        );
    }
    let options = ApiOptions {
        allowed_hosts: args.allowed_hosts.clone(),
        ..ApiOptions::with_tokens(load_tokens(args.token_file.as_deref())?)
    };
    let addrs = resolve_listen(&args.listen).await?;
    let listener = bind(&addrs, &options).await?;
    let backends = Backends::open(&config)
        .await
        .context("opening the backends")?;
    let client = backends.client(&config);
    let mut state = ApiState::new(client.clone(), options);
    // A worker purges finished tasks older than the TTL; without one, the server does.
    let retention = args.no_worker.then(|| backends.retention(&config));
    if let Some(retention) = &retention {
        retention.start();
        state = state.with_retention(retention.clone());
    }
    // A worker runs the scheduler of periodic tasks; without one, the server does.
    let scheduler = args
        .no_worker
        .then(|| backends.scheduler(&config, client.clone()));
    if let Some(scheduler) = &scheduler {
        scheduler.start();
    }
    // A worker collects the broker's dead letters into the log; without one, the server does.
    let collector = args.no_worker.then(|| {
        cogman::DeadLetterCollector::start(Arc::clone(client.broker()), Arc::clone(client.log()))
    });
    let worker = if args.no_worker {
        None
    } else {
        let worker = backends.worker_with(&config, client.clone());
        for spec in &args.handlers {
            let (name, command) = parse_handler(spec)?;
            worker.register(
                name,
                ShellHandler::new(command.to_owned(), worker.options().into()),
            )?;
        }
        state = state.with_worker(worker.clone());
        worker.start().await.context("starting the worker")?;
        Some(worker)
    };
    // The in-process worker's own metrics, when the config's `metrics` names an address.
    let worker_metrics = match &worker {
        Some(worker) => super::worker_metrics::serve(config.metrics, worker).await?,
        None => None,
    };
    let auth = if state.options().requires_auth() {
        "token auth"
    } else {
        "no auth"
    };
    let addr = listener.local_addr().context("reading the bound address")?;
    eprintln!(
        "cogman API listening on http://{addr}{} ({auth}); web UI at http://{addr}{}; \
         Ctrl-C to stop",
        cogman_api::PREFIX,
        cogman_api::UI_ROOT
    );
    let served = cogman_api::serve_listener(listener, state, super::shutdown_signal()).await;
    if let Some(worker) = worker {
        worker.stop().await;
    }
    if let Some(metrics) = worker_metrics {
        metrics.stop().await;
    }
    if let Some(retention) = retention {
        retention.stop();
    }
    if let Some(scheduler) = scheduler {
        scheduler.stop().await;
    }
    if let Some(collector) = collector {
        collector.stop().await;
    }
    client.close().await;
    served.context("serving the API")?;
    Ok(())
}
