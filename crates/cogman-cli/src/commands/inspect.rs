//! `cogman status` and `cogman tasks`: read the task log (or, with `--server`, the REST API).

use anyhow::Result;
use cogman::{Config, Cursor, Page, PageRequest, Task, TaskDetails, TaskFilter, TaskId, TaskState};
use cogman_api::RemoteClient;

use super::with_client;
use crate::cli::{StatusArgs, TasksArgs};
use crate::table;

fn short_error(task: &Task) -> String {
    task.fail_error
        .as_deref()
        .map(|e| e.chars().take(60).collect())
        .unwrap_or_default()
}

pub(crate) async fn status(
    config: Config,
    args: StatusArgs,
    remote: Option<RemoteClient>,
) -> Result<()> {
    let id: TaskId = args.id.parse()?;
    let TaskDetails {
        task,
        attempts,
        history,
    } = match remote {
        Some(remote) => remote.get(id).await?,
        None => with_client(&config, async |client| client.inspector().task(id).await).await?,
    };
    if args.json {
        let value = serde_json::json!({ "task": task, "attempts": attempts, "history": history });
        println!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    let result = task
        .result
        .as_ref()
        .map(|r| String::from_utf8_lossy(r).into_owned());
    let rows = vec![
        vec!["id".into(), task.id.to_string()],
        vec!["name".into(), task.name.clone()],
        vec!["status".into(), task.status.to_string()],
        vec!["priority".into(), task.priority.to_string()],
        vec!["attempt".into(), task.attempt.to_string()],
        vec!["retries left".into(), task.retry.to_string()],
        vec!["original task".into(), task.original_task_id.to_string()],
        vec![
            "primary key".into(),
            task.primary_key.clone().unwrap_or_default(),
        ],
        vec!["created".into(), task.created_at.to_rfc3339()],
        vec!["updated".into(), task.updated_at.to_rfc3339()],
        vec![
            "run at".into(),
            task.run_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
        ],
        vec![
            "duration".into(),
            task.duration
                .map(|d| format!("{d:.3}s"))
                .unwrap_or_default(),
        ],
        vec!["error".into(), task.fail_error.clone().unwrap_or_default()],
        vec!["result".into(), result.unwrap_or_default()],
    ];
    println!("{}", table::render(&["field", "value"], &rows));
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
    println!(
        "\nattempts\n{}",
        table::render(&["#", "id", "status", "error"], &attempt_rows)
    );
    let history_rows: Vec<Vec<String>> = history
        .iter()
        .map(|c| {
            vec![
                c.at.to_rfc3339(),
                c.state.to_string(),
                c.worker.clone().unwrap_or_default(),
            ]
        })
        .collect();
    println!(
        "\nhistory\n{}",
        table::render(&["at", "state", "worker"], &history_rows)
    );
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
        .transpose()?;
    let filter = TaskFilter {
        statuses,
        name: args.name,
        primary_key: args.primary_key,
        ..TaskFilter::default()
    };
    let request = PageRequest {
        limit: args.limit.clamp(1, PageRequest::MAX_LIMIT),
        after,
    };
    let page: Page = match remote {
        Some(remote) => remote.list(&filter, request).await?,
        None => {
            with_client(&config, async |client| {
                client.inspector().list(&filter, request).await
            })
            .await?
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "items": page.items, "next": page.next })
            )?
        );
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
                    t.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    short_error(t),
                ]
            })
            .collect();
        println!(
            "{}",
            table::render(
                &[
                    "id", "name", "status", "priority", "attempt", "created", "error"
                ],
                &rows
            )
        );
        if let Some(next) = page.next {
            println!("more: --after {next}");
        }
    }
    Ok(())
}
