//! `cogman limit set|list|remove`: rate and concurrency limits per task name, shared by every
//! worker through the task log (docs/scheduling.md, Rate and concurrency limits).

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use cogman::{Config, Rate, TaskLimit};

use super::{require_existing_database, with_client};
use crate::output::outln;
use crate::table;

#[derive(Debug, Args)]
pub(crate) struct LimitArgs {
    #[command(subcommand)]
    pub(crate) action: LimitAction,
}

#[derive(Debug, Subcommand)]
pub(crate) enum LimitAction {
    /// Set the limits of a task name (replacing those it had).
    Set(SetArgs),
    /// List every limit.
    List(ListArgs),
    /// Remove the limits of a task name.
    Remove(NameArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SetArgs {
    /// The task name the limits apply to.
    pub(crate) name: String,
    /// At most COUNT starts per second, minute or hour: 20/s, 100/m, 5/h.
    #[arg(long)]
    pub(crate) rate: Option<Rate>,
    /// With --rate: how many may start at once after a quiet time.
    #[arg(long, default_value_t = 1, requires = "rate")]
    pub(crate) burst: u32,
    /// At most N running at once, across every worker.
    #[arg(long)]
    pub(crate) concurrency: Option<u32>,
    /// One limit per primary key of the task (e.g. per customer) instead of one for the name.
    #[arg(long)]
    pub(crate) per_key: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct NameArgs {
    /// The task name.
    pub(crate) name: String,
}

pub(crate) async fn run(config: Config, args: LimitArgs) -> Result<()> {
    match args.action {
        LimitAction::Set(set) => {
            let limit = TaskLimit {
                name: set.name.clone(),
                rate: set.rate.map(|rate| Rate {
                    burst: set.burst,
                    ..rate
                }),
                concurrency: set.concurrency,
                per_key: set.per_key,
            };
            limit.validate(&config.limits())?;
            with_client(&config, async |client| client.put_limit(&limit).await)
                .await
                .context("setting the limit")?;
            eprintln!("limit set for {}", set.name);
            Ok(())
        }
        LimitAction::List(list) => {
            require_existing_database(&config)?;
            let limits = with_client(&config, async |client| {
                client.inspector().task_limits().await
            })
            .await?;
            if list.json {
                outln!("{}", serde_json::to_string_pretty(&limits)?)?;
            } else {
                let rows: Vec<Vec<String>> = limits
                    .iter()
                    .map(|l| {
                        vec![
                            l.name.clone(),
                            l.rate.map_or_else(|| "-".to_owned(), |r| r.to_string()),
                            l.concurrency
                                .map_or_else(|| "-".to_owned(), |c| c.to_string()),
                            if l.per_key { "per key" } else { "name" }.to_owned(),
                        ]
                    })
                    .collect();
                outln!(
                    "{}",
                    table::render(&["TASK", "RATE", "CONCURRENCY", "BUCKET"], &rows)
                )?;
            }
            Ok(())
        }
        LimitAction::Remove(NameArgs { name }) => {
            require_existing_database(&config)?;
            with_client(&config, async |client| client.remove_limit(&name).await).await?;
            eprintln!("removed the limit of {name}");
            Ok(())
        }
    }
}
