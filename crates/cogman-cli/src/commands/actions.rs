//! `cogman retry` and `cogman cancel`: act on one task, through the backends or, with
//! `--server`, through the REST API.

use crate::remote::RemoteClient;
use anyhow::Result;
use cogman::{Config, TaskId};

use super::{print_receipt, require_existing_database, with_client};
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
            require_existing_database(&config)?;
            with_client(&config, async |client| client.retry(id, args.retry).await).await?
        }
    };
    print_receipt(&receipt)
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
            require_existing_database(&config)?;
            with_client(&config, async |client| client.cancel(id).await).await?
        }
    }
    eprintln!("cancelled {id}");
    Ok(())
}
