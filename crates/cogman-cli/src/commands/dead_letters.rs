//! `cogman dead-letters list|requeue|purge`: dead letters through the backends or, with
//! `--server`, through the REST API. Both print the same table (or, with `--json`, the API's
//! body); reasons, names and queues are printed with control characters escaped.

use anyhow::Result;
use cogman::Config;
use cogman_api::model::DeadLetterList;

use super::{print_receipt, require_existing_database, with_client};
use crate::cli::{DeadLettersCommand, DeadLettersListArgs, DeadLettersPurgeArgs};
use crate::display;
use crate::output::outln;
use crate::remote::RemoteClient;
use crate::table;

pub(crate) async fn run(
    config: Config,
    command: DeadLettersCommand,
    remote: Option<RemoteClient>,
) -> Result<()> {
    if remote.is_none() {
        require_existing_database(&config)?;
    }
    match command {
        DeadLettersCommand::List(args) => list(config, args, remote).await,
        DeadLettersCommand::Requeue(args) => {
            let id = args.id;
            let receipt = match remote {
                Some(remote) => remote.requeue_dead_letter(id).await?,
                None => {
                    with_client(&config, async |client| client.requeue_dead_letter(id).await)
                        .await?
                }
            };
            print_receipt(&receipt)
        }
        DeadLettersCommand::Purge(args) => purge(config, args, remote).await,
    }
}

async fn list(
    config: Config,
    args: DeadLettersListArgs,
    remote: Option<RemoteClient>,
) -> Result<()> {
    let (before, limit) = (args.before, args.limit);
    let page: DeadLetterList = match remote {
        Some(remote) => remote.dead_letters(before, limit).await?,
        None => {
            with_client(&config, async |client| {
                client
                    .inspector()
                    .dead_letters(before, limit)
                    .await
                    .map(|page| DeadLetterList::from(&page))
            })
            .await?
        }
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&page)?)?;
        return Ok(());
    }
    let rows: Vec<Vec<String>> = page
        .items
        .iter()
        .map(|d| {
            vec![
                d.id.to_string(),
                d.task_id
                    .map(|id| id.to_string())
                    .unwrap_or_else(|| "-".into()),
                d.name
                    .as_deref()
                    .map_or_else(|| "-".into(), |n| display::cut(n, 40)),
                d.queue
                    .as_deref()
                    .map_or_else(|| "-".into(), |q| display::cut(q, 40)),
                display::time(d.dead_lettered_at),
                display::cut(&d.reason, 80),
            ]
        })
        .collect();
    outln!(
        "{}",
        table::render(
            &["ID", "TASK", "NAME", "QUEUE", "DEAD-LETTERED", "REASON"],
            &rows
        )
    )?;
    if let Some(next) = page.next_before {
        outln!("more: --before {next}")?;
    }
    Ok(())
}

async fn purge(
    config: Config,
    args: DeadLettersPurgeArgs,
    remote: Option<RemoteClient>,
) -> Result<()> {
    match (args.id, remote) {
        (Some(id), Some(remote)) => remote.remove_dead_letter(id).await?,
        (Some(id), None) => {
            with_client(&config, async |client| client.remove_dead_letter(id).await).await?;
        }
        (None, remote) => {
            let purged = match remote {
                Some(remote) => remote.purge_dead_letters().await?,
                None => {
                    with_client(&config, async |client| client.purge_dead_letters().await).await?
                }
            };
            eprintln!("purged {purged} dead letters");
            return Ok(());
        }
    }
    eprintln!("purged dead letter {}", args.id.unwrap_or_default());
    Ok(())
}
