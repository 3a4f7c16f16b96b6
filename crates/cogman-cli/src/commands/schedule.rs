//! `cogman schedule add|list|pause|resume|remove`: periodic tasks, stored in the task log
//! and sent by whichever worker or `cogman serve` leads (docs/scheduling.md). `list --server`
//! reads them through the REST API and prints the same table.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use cogman::{Config, MissedSlots, Priority, Schedule, ScheduledTask, Timing};
use cogman_api::model::ScheduleBody;

use super::{require_existing_database, with_client};
use crate::cli::RemoteArgs;
use crate::display;
use crate::output::outln;
use crate::remote::RemoteClient;
use crate::table;

#[derive(Debug, Args)]
pub(crate) struct ScheduleArgs {
    #[command(subcommand)]
    pub(crate) action: ScheduleAction,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ScheduleAction {
    /// Add a schedule, or replace the one with this id.
    Add(AddArgs),
    /// List every schedule with its next and last run.
    List(ListArgs),
    /// Pause a schedule: it sends nothing until resumed (slots passed meanwhile are skipped).
    Pause(IdArgs),
    /// Resume a paused schedule.
    Resume(IdArgs),
    /// Remove a schedule.
    Remove(IdArgs),
}

#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// The schedule's id (A-Z a-z 0-9 . _ - :, up to 100 characters).
    pub(crate) id: String,
    /// The task name to send.
    #[arg(long)]
    pub(crate) task: String,
    /// A cron expression with seconds: "SEC MIN HOUR DAY MONTH WEEKDAY", e.g. "0 */5 * * * *".
    #[arg(long, conflicts_with = "every", required_unless_present = "every")]
    pub(crate) cron: Option<String>,
    /// A fixed interval, e.g. 30s or "1h 30m".
    #[arg(long)]
    pub(crate) every: Option<String>,
    /// The IANA time zone the cron expression is read in.
    #[arg(long = "tz", default_value = "UTC")]
    pub(crate) timezone: String,
    /// The payload of each sent task, as text.
    #[arg(long, default_value = "")]
    pub(crate) payload: String,
    /// The queue to send to.
    #[arg(long)]
    pub(crate) queue: Option<String>,
    /// High or Low.
    #[arg(long, default_value = "Low")]
    pub(crate) priority: Priority,
    /// Retry budget of each sent task.
    #[arg(long, default_value_t = 0)]
    pub(crate) retry: u32,
    /// Slots missed while no process ran: skip, or catch_up=N (send at most the N newest).
    #[arg(long, default_value = "skip")]
    pub(crate) missed: MissedSlots,
    /// Add it paused.
    #[arg(long)]
    pub(crate) paused: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Print JSON instead of a table (with --server: the API's body, `{items, leader}`).
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) remote: RemoteArgs,
}

impl ScheduleArgs {
    /// The `--server`/`--token` options, which only `list` takes.
    pub(crate) fn remote(&self) -> Option<&RemoteArgs> {
        match &self.action {
            ScheduleAction::List(list) => Some(&list.remote),
            _ => None,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct IdArgs {
    /// The schedule's id.
    pub(crate) id: String,
}

impl AddArgs {
    fn schedule(&self) -> Result<Schedule> {
        let timing = match (&self.cron, &self.every) {
            (Some(cron), _) => Timing::cron(cron)?,
            (None, Some(every)) => Timing::parse(&format!("every {every}"))?,
            (None, None) => bail!("give --cron EXPR or --every DURATION"),
        };
        Ok(Schedule {
            id: self.id.clone(),
            timing,
            timezone: self.timezone.clone(),
            task: ScheduledTask {
                name: self.task.clone(),
                queue: self.queue.clone(),
                payload: self.payload.clone().into_bytes(),
                priority: self.priority,
                retry: self.retry,
            },
            paused: self.paused,
            missed: self.missed,
        })
    }
}

pub(crate) async fn run(
    config: Config,
    args: ScheduleArgs,
    remote: Option<RemoteClient>,
) -> Result<()> {
    match args.action {
        ScheduleAction::Add(args) => {
            let schedule = args.schedule()?;
            schedule.validate(&config.limits())?;
            with_client(&config, async |client| client.put_schedule(&schedule).await)
                .await
                .context("adding the schedule")?;
            let view = with_client(&config, async |client| {
                client.inspector().schedule(&schedule.id).await
            })
            .await?;
            outln!("{}", schedule.id)?;
            if let Some(next) = view.next_run {
                eprintln!("next run: {}", display::time(next));
            }
            Ok(())
        }
        ScheduleAction::List(list) => {
            if let Some(remote) = remote {
                let listed = remote.schedules().await?;
                if list.json {
                    outln!("{}", serde_json::to_string_pretty(&listed)?)?;
                } else {
                    print_table(&listed.items)?;
                }
                return Ok(());
            }
            require_existing_database(&config)?;
            let views =
                with_client(&config, async |client| client.inspector().schedules().await).await?;
            if list.json {
                outln!("{}", serde_json::to_string_pretty(&views)?)?;
            } else {
                print_table(&views.iter().map(ScheduleBody::from).collect::<Vec<_>>())?;
            }
            Ok(())
        }
        ScheduleAction::Pause(IdArgs { id }) => set_paused(&config, &id, true).await,
        ScheduleAction::Resume(IdArgs { id }) => set_paused(&config, &id, false).await,
        ScheduleAction::Remove(IdArgs { id }) => {
            require_existing_database(&config)?;
            with_client(&config, async |client| client.remove_schedule(&id).await).await?;
            eprintln!("removed {id}");
            Ok(())
        }
    }
}

async fn set_paused(config: &Config, id: &str, paused: bool) -> Result<()> {
    require_existing_database(config)?;
    with_client(config, async |client| {
        client.pause_schedule(id, paused).await
    })
    .await?;
    eprintln!("{} {id}", if paused { "paused" } else { "resumed" });
    Ok(())
}

fn print_table(schedules: &[ScheduleBody]) -> Result<()> {
    let dash = || "-".to_owned();
    let rows: Vec<Vec<String>> = schedules
        .iter()
        .map(|s| {
            let timing = match (&s.cron, &s.every) {
                (Some(cron), _) => cron.clone(),
                (None, Some(every)) => format!("every {every}"),
                (None, None) => dash(),
            };
            let last = s.last_run.as_ref();
            vec![
                s.id.clone(),
                timing,
                s.timezone.clone(),
                s.task.clone(),
                if s.paused { "paused" } else { "active" }.to_owned(),
                s.next_run.map_or_else(dash, display::time),
                last.map_or_else(dash, |r| display::time(r.slot)),
                last.and_then(|r| r.task_id)
                    .map_or_else(dash, |id| id.to_string()),
            ]
        })
        .collect();
    let header = [
        "ID",
        "TIMING",
        "ZONE",
        "TASK",
        "STATE",
        "NEXT RUN",
        "LAST RUN",
        "LAST TASK",
    ];
    outln!("{}", table::render(&header, &rows))?;
    Ok(())
}
