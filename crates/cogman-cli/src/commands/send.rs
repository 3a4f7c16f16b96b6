//! `cogman send`: sends one task and prints its id (and, on stderr, where it is); with
//! `--wait`, waits for its outcome through every attempt (see [`super::wait`]).

use std::io::Read;
use std::path::Path;

use crate::remote::RemoteClient;
use anyhow::{Context, Result, bail};
use cogman::{Config, Priority, SendReceipt, TaskSpec, TraceContext};
use tokio::io::{AsyncBufRead, AsyncBufReadExt as _, BufReader};

use super::{print_receipt, wait, with_client};
use crate::cli::SendArgs;
use crate::display;
use crate::output::outln;

/// Every byte of standard input.
fn read_stdin() -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .context("reading the payload from stdin")?;
    Ok(bytes)
}

/// The payload the arguments name: a file (`-` for stdin), or the text (`-` for stdin).
fn payload(args: &SendArgs) -> Result<Vec<u8>> {
    match (&args.payload_file, args.payload.as_str()) {
        (Some(path), _) if path == Path::new("-") => read_stdin(),
        (Some(path), _) => {
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))
        }
        (None, "-") => read_stdin(),
        (None, text) => Ok(text.as_bytes().to_vec()),
    }
}

/// Says the task was sent: its id on stdout, or, when waiting (stdout is for the result), on
/// stderr.
fn announce(receipt: &SendReceipt, wait: bool) -> Result<()> {
    if receipt.is_duplicate() {
        eprintln!(
            "note: task {} already holds this unique key; nothing was sent (its id is printed)",
            receipt.id
        );
    }
    if wait {
        eprintln!(
            "task {}: waiting for its outcome (Ctrl-C stops the waiting, not the task)",
            receipt.id
        );
        Ok(())
    } else {
        print_receipt(receipt)
    }
}

/// Prints the send's warning (no live worker handles the task on its queue) on stderr.
fn warn(receipt: &SendReceipt) {
    if let Some(warning) = &receipt.warning {
        eprintln!("warning: {}", display::escape(warning));
    }
}

/// The task the options describe, carrying `payload`.
fn spec(args: &SendArgs, payload: Vec<u8>) -> Result<TaskSpec> {
    let priority: Priority = args.priority.parse()?;
    let mut spec = TaskSpec::new(args.name.clone(), payload)
        .priority(priority)
        .queue(args.queue.clone())
        .retry(args.retry);
    if let Some(delay) = args.delay {
        spec = spec.delay(delay);
    }
    if let Some(key) = &args.primary_key {
        spec = spec.primary_key(key.clone());
    }
    if let Some(timeout) = args.timeout {
        spec = spec.timeout(timeout);
    }
    spec.unique_key.clone_from(&args.unique_key);
    spec.unique_for = args.unique_for;
    // Run from a traced process (a shell handler, a CI job): the task joins its trace.
    spec.trace_parent = inherited_trace();
    Ok(spec)
}

/// Where `--each-line` reads: the file at `path`, or stdin for `-`, read as it comes (a
/// pipe can feed tasks over time).
async fn line_source(path: &Path) -> Result<Box<dyn AsyncBufRead + Unpin + Send>> {
    if path == Path::new("-") {
        return Ok(Box::new(BufReader::new(tokio::io::stdin())));
    }
    let file = tokio::fs::File::open(path)
        .await
        .with_context(|| format!("reading {}", path.display()))?;
    Ok(Box::new(BufReader::new(file)))
}

/// `--each-line`: one task per line (bytes, without the line end), sent in order by `send`;
/// each id printed as its send returns, so a caller stopped midway knows exactly which tasks
/// were accepted.
async fn send_each_line(
    args: &SendArgs,
    path: &Path,
    mut send: impl AsyncFnMut(TaskSpec) -> Result<SendReceipt>,
) -> Result<()> {
    let mut source = line_source(path).await?;
    let (mut number, mut failed, mut warned) = (0usize, 0usize, false);
    let mut line = Vec::new();
    loop {
        line.clear();
        if source
            .read_until(b'\n', &mut line)
            .await
            .with_context(|| format!("reading {}", path.display()))?
            == 0
        {
            break;
        }
        number += 1;
        let payload = line.strip_suffix(b"\n").unwrap_or(&line);
        let payload = payload.strip_suffix(b"\r").unwrap_or(payload);
        match send(spec(args, payload.to_vec())?).await {
            Ok(receipt) => {
                outln!("{}", receipt.id)?;
                if !warned && receipt.warning.is_some() {
                    warn(&receipt);
                    warned = true;
                }
            }
            Err(error) => {
                failed += 1;
                eprintln!("line {number}: not sent: {error:#}");
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {number} tasks were not sent");
    }
    Ok(())
}

/// The W3C trace context of the process that ran `cogman send` (`TRACEPARENT`, with
/// `TRACESTATE`), as a shell handler gets it; an invalid one is ignored.
fn inherited_trace() -> Option<TraceContext> {
    let parent = std::env::var("TRACEPARENT").ok()?;
    TraceContext::parse(&parent, std::env::var("TRACESTATE").ok().as_deref())
}

pub(crate) async fn run(
    config: Config,
    args: SendArgs,
    remote: Option<RemoteClient>,
) -> Result<()> {
    if let Some(path) = args.each_line.clone() {
        return match remote {
            Some(remote) => {
                send_each_line(&args, &path, async |spec| Ok(remote.send(&spec).await?)).await
            }
            None => {
                with_client(&config, async |client| {
                    send_each_line(&args, &path, async |spec| {
                        Ok(client.send_task(spec).await?)
                    })
                    .await
                })
                .await
            }
        };
    }
    let spec = spec(&args, payload(&args)?)?;
    let wait = args.wait;
    match remote {
        Some(remote) => {
            let receipt = remote.send(&spec).await?;
            announce(&receipt, wait)?;
            warn(&receipt);
            if wait {
                let id = receipt.id;
                let last = wait::outcome(async || Ok(remote.get(id).await?)).await?;
                wait::report(id, &last)?;
            }
            Ok(())
        }
        None => {
            with_client(&config, async |client| {
                let receipt = client.send_task(spec).await?;
                announce(&receipt, wait)?;
                warn(&receipt);
                if wait {
                    let id = receipt.id;
                    let last =
                        wait::outcome(async || Ok(client.inspector().task(id).await?)).await?;
                    wait::report(id, &last)?;
                }
                anyhow::Ok(())
            })
            .await
        }
    }
}
