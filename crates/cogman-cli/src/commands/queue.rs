//! `cogman queue pause|resume|list`: pausing named queues. A paused queue keeps accepting
//! tasks and delivers none to any worker until resumed (docs/scheduling.md, Pausing queues).

use anyhow::Result;
use clap::{Args, Subcommand};
use cogman::Config;

use super::{require_existing_database, with_client};
use crate::display;
use crate::output::outln;
use crate::table;

#[derive(Debug, Args)]
pub(crate) struct QueueArgs {
    #[command(subcommand)]
    pub(crate) action: QueueAction,
}

#[derive(Debug, Subcommand)]
pub(crate) enum QueueAction {
    /// Pause a named queue: sends are still accepted, no worker takes its tasks until resumed.
    Pause(QueueNameArgs),
    /// Resume a paused queue: workers take its tasks again, where they stopped.
    Resume(QueueNameArgs),
    /// List the named queues (default, those live workers consume, the paused ones) and
    /// which are paused since when.
    List(QueueListArgs),
}

#[derive(Debug, Args)]
pub(crate) struct QueueNameArgs {
    /// The named queue (A-Z a-z 0-9 . _ -).
    pub(crate) name: String,
}

#[derive(Debug, Args)]
pub(crate) struct QueueListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) async fn run(config: Config, args: QueueArgs) -> Result<()> {
    match args.action {
        QueueAction::Pause(QueueNameArgs { name }) => {
            let changed =
                with_client(&config, async |client| client.pause_queue(&name).await).await?;
            eprintln!(
                "{}",
                if changed {
                    format!("paused {name}")
                } else {
                    format!("{name} was already paused")
                }
            );
            Ok(())
        }
        QueueAction::Resume(QueueNameArgs { name }) => {
            require_existing_database(&config)?;
            let changed =
                with_client(&config, async |client| client.resume_queue(&name).await).await?;
            eprintln!(
                "{}",
                if changed {
                    format!("resumed {name}")
                } else {
                    format!("{name} was not paused")
                }
            );
            Ok(())
        }
        QueueAction::List(list) => {
            require_existing_database(&config)?;
            let queues = with_client(&config, async |client| {
                client.inspector().named_queues().await
            })
            .await?;
            if list.json {
                outln!("{}", serde_json::to_string_pretty(&queues)?)?;
            } else {
                let rows: Vec<Vec<String>> = queues
                    .iter()
                    .map(|q| {
                        vec![
                            q.name.clone(),
                            if q.paused_since.is_some() {
                                "paused"
                            } else {
                                "active"
                            }
                            .to_owned(),
                            q.paused_since.map_or_else(|| "-".to_owned(), display::time),
                        ]
                    })
                    .collect();
                outln!(
                    "{}",
                    table::render(&["QUEUE", "STATE", "PAUSED SINCE"], &rows)
                )?;
            }
            Ok(())
        }
    }
}
