//! `cogman worker`: a worker host whose handlers are shell commands, running until Ctrl-C or
//! SIGTERM, then stopping gracefully. It prints one line per finished attempt on stdout
//! ([`AttemptPrinter`]) unless `--quiet`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use cogman::{Config, Task, TaskObserver, TaskState, Worker};

use super::shell_handler::ShellHandler;
use crate::cli::WorkerArgs;
use crate::display;

/// Prints `time  name  id  attempt N  outcome  duration` for every settled attempt. A closed
/// stdout is ignored: the worker goes on running its tasks.
struct AttemptPrinter;

impl TaskObserver for AttemptPrinter {
    fn settled(&self, task: &Task, state: TaskState, ran_for: Duration) {
        let _ = crate::output::write_line(&format!(
            "{}  {}  {}  attempt {}  {}  {:.3}s",
            display::time(Utc::now()),
            display::escape(&task.name),
            task.id,
            task.attempt,
            state,
            ran_for.as_secs_f64()
        ));
    }
}

/// Splits `NAME=COMMAND`.
pub(crate) fn parse_handler(spec: &str) -> Result<(&str, &str)> {
    match spec.split_once('=') {
        Some((name, command)) if !name.is_empty() && !command.trim().is_empty() => {
            Ok((name, command))
        }
        _ => bail!("--handler expects NAME=COMMAND, got {spec:?}"),
    }
}

pub(crate) async fn run(mut config: Config, args: WorkerArgs) -> Result<()> {
    if let Some(concurrency) = args.concurrency {
        config.concurrency = concurrency;
    }
    if !args.queues.is_empty() {
        config.queues = args.queues.clone();
    }
    config.validate()?;
    let worker = Worker::connect(&config)
        .await
        .context("starting the worker")?;
    for spec in &args.handlers {
        let (name, command) = parse_handler(spec)?;
        worker.register(
            name,
            ShellHandler::new(command.to_owned(), worker.options().into()),
        )?;
    }
    if !args.quiet {
        worker.observe(Arc::new(AttemptPrinter));
    }
    let metrics = super::worker_metrics::serve(args.metrics.or(config.metrics), &worker).await?;
    eprintln!(
        "cogman worker {} running {} on queue(s) {} (concurrency {}); Ctrl-C to stop",
        worker.id(),
        worker.registry().names().join(", "),
        config.queues.join(", "),
        config.concurrency
    );
    worker.run_until(super::shutdown_signal()).await?;
    if let Some(metrics) = metrics {
        metrics.stop().await;
    }
    let stats = worker.stats();
    eprintln!(
        "stopped: {} succeeded, {} failed, {} retried",
        stats.succeeded, stats.failed, stats.retried
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn handler_specs_parse() {
        assert_eq!(
            super::parse_handler("a=echo x=1").expect("valid"),
            ("a", "echo x=1")
        );
        assert!(super::parse_handler("=echo").is_err());
        assert!(super::parse_handler("a=").is_err());
        assert!(super::parse_handler("a").is_err());
    }
}
