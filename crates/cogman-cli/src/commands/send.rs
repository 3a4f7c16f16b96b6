//! `cogman send`: sends one task and prints its id (and, on stderr, where it is); with
//! `--wait`, waits for its outcome through every attempt (see [`super::wait`]).

use std::io::Read;
use std::path::Path;

use crate::remote::RemoteClient;
use anyhow::{Context, Result};
use cogman::{Config, Priority, SendReceipt, TaskSpec};

use super::{print_receipt, wait, with_client};
use crate::cli::SendArgs;
use crate::display;

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

pub(crate) async fn run(
    config: Config,
    args: SendArgs,
    remote: Option<RemoteClient>,
) -> Result<()> {
    let payload = payload(&args)?;
    let priority: Priority = args.priority.parse()?;
    let mut spec = TaskSpec::new(args.name, payload)
        .priority(priority)
        .queue(args.queue)
        .retry(args.retry);
    if let Some(delay) = args.delay {
        spec = spec.delay(delay);
    }
    if let Some(key) = args.primary_key {
        spec = spec.primary_key(key);
    }
    if let Some(timeout) = args.timeout {
        spec = spec.timeout(timeout);
    }
    spec.unique_key = args.unique_key;
    spec.unique_for = args.unique_for;
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
