//! `cogman retry` and `cogman cancel`: act on one task, through the backends or, with
//! `--server`, through the REST API.

use anyhow::{Context, Result};
use cogman::{Client, Config, TaskId};
use cogman_api::RemoteClient;

use crate::cli::{CancelArgs, RetryArgs};

pub(crate) async fn retry(
    config: Config,
    args: RetryArgs,
    remote: Option<RemoteClient>,
) -> Result<()> {
    let id: TaskId = args.id.parse()?;
    let receipt = match remote {
        Some(remote) => remote.retry(id, args.retry).await?,
        None => {
            let client = Client::connect(&config).await.context("connecting")?;
            let receipt = client.retry(id, args.retry).await;
            client.close().await;
            receipt?
        }
    };
    println!("{}", receipt.id);
    eprintln!(
        "status: {}",
        serde_json::to_value(receipt.status)?
            .as_str()
            .unwrap_or("unknown")
    );
    Ok(())
}

pub(crate) async fn cancel(
    config: Config,
    args: CancelArgs,
    remote: Option<RemoteClient>,
) -> Result<()> {
    let id: TaskId = args.id.parse()?;
    match remote {
        Some(remote) => {
            remote.cancel(id).await?;
        }
        None => {
            let client = Client::connect(&config).await.context("connecting")?;
            let cancelled = client.cancel(id).await;
            client.close().await;
            cancelled?;
        }
    }
    eprintln!("cancelled {id}");
    Ok(())
}
