//! `cogman status` and `cogman tasks`: read the task log (or, with `--server`, the REST API).

use anyhow::{Context, Result};
use cogman::{
    Config, Cursor, Page, PageRequest, StateChange, Task, TaskDetails, TaskFilter, TaskId,
    TaskState,
};
use cogman_api::model::TaskPage;

use super::{require_existing_database, with_client};
use crate::cli::{RawField, StatusArgs, TasksArgs};
use crate::display;
use crate::output::{outln, write_raw};
use crate::remote::RemoteClient;
use crate::table;

/// A task's error as a list shows it: escaped, cut short with `…`.
fn short_error(task: &Task) -> String {
    task.fail_error
        .as_deref()
        .map(|e| display::cut(e, display::SHORT_ERROR_CHARS))
        .unwrap_or_default()
}

pub(crate) async fn status(
    config: Config,
    args: StatusArgs,
    remote: Option<RemoteClient>,
) -> Result<()> {
    let id: TaskId = args.id.parse()?;
    let details = match remote {
        Some(remote) => remote.get(id).await?,
        None => {
            require_existing_database(&config)?;
            with_client(&config, async |client| client.inspector().task(id).await).await?
        }
    };
    if args.json {
        let shown = cogman_api::model::TaskDetails::from(&details);
        outln!("{}", serde_json::to_string_pretty(&shown)?)?;
        return Ok(());
    }
    let waiting = details.waiting_for_handler();
    let TaskDetails {
        task,
        chain_status,
        latest_attempt,
        attempts,
        history,
    } = details;
    if let Some(field) = args.raw {
        let bytes = match field {
            RawField::Result => task.result.as_deref().unwrap_or_default(),
            RawField::Payload => &task.payload,
        };
        write_raw(bytes)?;
        return Ok(());
    }
    let mut chain = format!("{chain_status} (newest attempt {latest_attempt})");
    if waiting {
        chain.push_str(&format!(
            "; waiting for a worker with a handler for {:?} on queue {:?}",
            task.name, task.queue
        ));
    }
    print_task(&task, &chain, &attempts, &history)
}

/// The status of one task as tables: its fields (payload and result as previews, `chain` where
/// its attempts stand as a whole), its attempts and its history.
fn print_task(task: &Task, chain: &str, attempts: &[Task], history: &[StateChange]) -> Result<()> {
    let optional_time = |t: Option<chrono::DateTime<chrono::Utc>>| t.map(display::time);
    let rows = vec![
        vec!["id".into(), task.id.to_string()],
        vec!["name".into(), task.name.clone()],
        vec!["status".into(), task.status.to_string()],
        vec!["chain status".into(), chain.to_owned()],
        vec!["priority".into(), task.priority.to_string()],
        vec!["attempt".into(), task.attempt.to_string()],
        vec!["retries left".into(), task.retry.to_string()],
        vec!["original task".into(), task.original_task_id.to_string()],
        vec![
            "primary key".into(),
            task.primary_key.clone().unwrap_or_default(),
        ],
        vec!["created".into(), display::time(task.created_at)],
        vec!["updated".into(), display::time(task.updated_at)],
        vec![
            "run at".into(),
            optional_time(task.run_at).unwrap_or_default(),
        ],
        vec![
            "duration".into(),
            task.duration
                .map(|d| format!("{d:.3}s"))
                .unwrap_or_default(),
        ],
        vec![
            "payload".into(),
            display::preview(&task.payload, display::PREVIEW_CHARS),
        ],
        vec![
            "result".into(),
            task.result
                .as_deref()
                .map(|r| display::preview(r, display::PREVIEW_CHARS))
                .unwrap_or_default(),
        ],
        vec![
            "error".into(),
            task.fail_error
                .as_deref()
                .map(|e| display::cut(e, display::PREVIEW_CHARS))
                .unwrap_or_default(),
        ],
    ];
    outln!("{}", table::render(&["field", "value"], &rows))?;
    let attempt_rows: Vec<Vec<String>> = attempts
        .iter()
        .rev()
        .map(|t| {
            vec![
                t.attempt.to_string(),
                t.id.to_string(),
                t.status.to_string(),
                short_error(t),
            ]
        })
        .collect();
    outln!(
        "\nattempts\n{}",
        table::render(&["#", "id", "status", "error"], &attempt_rows)
    )?;
    let history_rows: Vec<Vec<String>> = history
        .iter()
        .map(|c| {
            vec![
                display::time(c.at),
                c.state.to_string(),
                c.worker.clone().unwrap_or_default(),
                c.note.map(|kind| kind.to_string()).unwrap_or_default(),
            ]
        })
        .collect();
    outln!(
        "\nhistory\n{}",
        table::render(&["at", "state", "worker", "note"], &history_rows)
    )?;
    outln!("(--json or --raw for the whole payload and result)")?;
    Ok(())
}

pub(crate) async fn tasks(
    config: Config,
    args: TasksArgs,
    remote: Option<RemoteClient>,
) -> Result<()> {
    let statuses = args
        .status
        .iter()
        .map(|s| s.parse::<TaskState>())
        .collect::<Result<Vec<_>, _>>()?;
    let after = args
        .after
        .as_deref()
        .map(str::parse::<Cursor>)
        .transpose()
        .context("--after takes the cursor printed under the previous page")?;
    let filter = TaskFilter {
        statuses,
        name: args.name,
        primary_key: args.primary_key,
        ..TaskFilter::default()
    };
    let request = PageRequest {
        limit: args.limit,
        after,
    };
    let page: Page = match remote {
        Some(remote) => remote.list(&filter, request).await?,
        None => {
            require_existing_database(&config)?;
            with_client(&config, async |client| {
                client.inspector().list(&filter, request).await
            })
            .await?
        }
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&TaskPage::from(&page))?)?;
    } else {
        let rows: Vec<Vec<String>> = page
            .items
            .iter()
            .map(|t| {
                vec![
                    t.id.to_string(),
                    t.name.clone(),
                    t.status.to_string(),
                    t.priority.to_string(),
                    t.attempt.to_string(),
                    display::time(t.created_at),
                    short_error(t),
                ]
            })
            .collect();
        outln!(
            "{}",
            table::render(
                &[
                    "id", "name", "status", "priority", "attempt", "created", "error"
                ],
                &rows
            )
        )?;
        if let Some(next) = page.next {
            outln!("more: --after {next}")?;
        }
    }
    Ok(())
}
