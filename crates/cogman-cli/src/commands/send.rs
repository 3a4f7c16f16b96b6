//! `cogman send`: sends one task and prints its id (and, on stderr, where it is).

use std::io::Read;

use anyhow::{Context, Result};
use cogman::{Config, Priority, TaskSpec};
use cogman_api::RemoteClient;

use super::{print_receipt, with_client};
use crate::cli::SendArgs;

pub(crate) async fn run(
    config: Config,
    args: SendArgs,
    remote: Option<RemoteClient>,
) -> Result<()> {
    let payload = match (&args.payload_file, args.payload.as_str()) {
        (Some(path), _) => {
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
        }
        (None, "-") => {
            let mut bytes = Vec::new();
            std::io::stdin()
                .read_to_end(&mut bytes)
                .context("reading the payload from stdin")?;
            bytes
        }
        (None, text) => text.as_bytes().to_vec(),
    };
    let priority: Priority = args.priority.parse()?;
    let mut spec = TaskSpec::new(args.name, payload)
        .priority(priority)
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
    let receipt = match remote {
        Some(remote) => remote.send(&spec).await?,
        None => with_client(&config, async |client| client.send_task(spec).await).await?,
    };
    print_receipt(&receipt)
}
