//! Storage cost per finished task in each task log: fills a fresh SQLite file, PostgreSQL
//! schema and Redis namespace with `--tasks` finished tasks (created, then `queued`,
//! `in_progress` by a worker and `success` with a 16-byte result — a task's whole life, four
//! history entries) for a 100-byte and a 10 KiB payload (random bytes, which do not compress), and prints the bytes each costs:
//!
//! - SQLite: used pages (`(page_count - freelist_count) * page_size`, after a WAL checkpoint)
//!   of the file, read with the `sqlite3` command;
//! - PostgreSQL: `pg_total_relation_size` (table, TOAST and indexes) of `tasks` and
//!   `task_events`, read with `psql`, after `VACUUM`;
//! - Redis: the sum of `MEMORY USAGE` over every key of the namespace, read with `redis-cli`.
//!
//! Each figure is (after − before) / tasks. Uses the shared servers (RabbitMQ is not needed)
//! and removes what it wrote. The figures in docs/production.md were measured with it:
//!
//! ```text
//! cargo run --release -p cogman --example storage_cost -- [--tasks 10000]
//!     [--postgres postgres://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379]
//! ```

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use chrono::Utc;
use cogman::backends::Backends;
use cogman::{Config, StateChange, Task, TaskLog, TaskSpec, TaskState, config};
use futures::StreamExt;

/// Writes in flight at once (the logs batch concurrent writes).
const IN_FLIGHT: usize = 64;

struct Args {
    tasks: u64,
    logs: Vec<String>,
    postgres: String,
    redis: String,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        tasks: 10_000,
        logs: vec!["sqlite".into(), "postgres".into(), "redis".into()],
        postgres: "postgres://postgres@127.0.0.1:5432/test".into(),
        redis: "redis://127.0.0.1:6379".into(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--tasks" => args.tasks = value.parse().map_err(|e| format!("--tasks: {e}"))?,
            "--logs" => args.logs = value.split(',').map(str::to_owned).collect(),
            "--postgres" => args.postgres = value,
            "--redis" => args.redis = value,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(args)
}

/// Runs `program` with `args` (and `stdin`), returns its trimmed stdout.
fn run(program: &str, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    // Written from a thread: the program's output fills its pipe while it still reads input.
    let writer = child.stdin.take().map(|mut pipe| {
        let input = stdin.unwrap_or_default().to_owned();
        std::thread::spawn(move || {
            use std::io::Write as _;
            pipe.write_all(input.as_bytes())
        })
    });
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{program}: {e}"))?;
    if let Some(writer) = writer {
        writer
            .join()
            .map_err(|_| format!("{program}: the stdin writer panicked"))?
            .map_err(|e| format!("{program} stdin: {e}"))?;
    }
    if !out.status.success() {
        return Err(format!(
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Where a log keeps its data, and how to measure it.
enum Store<'a> {
    Sqlite(&'a Path),
    Postgres { uri: &'a str, schema: &'a str },
    Redis { uri: &'a str, namespace: &'a str },
}

impl Store<'_> {
    /// The name `--logs` knows it by.
    fn key(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres { .. } => "postgres",
            Store::Redis { .. } => "redis",
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "SQLite",
            Store::Postgres { .. } => "PostgreSQL",
            Store::Redis { .. } => "Redis",
        }
    }

    /// Bytes the log's data takes now.
    fn bytes(&self) -> Result<u64, String> {
        let text = match self {
            Store::Sqlite(path) => run(
                "sqlite3",
                &[
                    &path.display().to_string(),
                    "PRAGMA wal_checkpoint(TRUNCATE);",
                    "SELECT (p.page_count - f.freelist_count) * s.page_size \
                     FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s;",
                ],
                None,
            )?
            .lines()
            .last()
            .unwrap_or_default()
            .to_owned(),
            Store::Postgres { uri, schema } => {
                run(
                    "psql",
                    &[
                        uri,
                        "-qAtc",
                        &format!("VACUUM {schema}.tasks, {schema}.task_events"),
                    ],
                    None,
                )?;
                run(
                    "psql",
                    &[
                        uri,
                        "-qAtc",
                        &format!(
                            "SELECT pg_total_relation_size('{schema}.tasks') \
                             + pg_total_relation_size('{schema}.task_events')"
                        ),
                    ],
                    None,
                )?
            }
            Store::Redis { uri, namespace } => {
                let keys = run(
                    "redis-cli",
                    &["-u", uri, "--scan", "--pattern", &format!("{namespace}:*")],
                    None,
                )?;
                let commands: String = keys
                    .lines()
                    .filter(|k| !k.is_empty())
                    .map(|k| format!("MEMORY USAGE {k} SAMPLES 0\n"))
                    .collect();
                if commands.is_empty() {
                    return Ok(0);
                }
                let sizes = run("redis-cli", &["-u", uri], Some(&commands))?;
                return Ok(sizes
                    .lines()
                    .filter_map(|l| l.trim().parse::<u64>().ok())
                    .sum());
            }
        };
        text.trim()
            .parse()
            .map_err(|e| format!("{}: {text:?}: {e}", self.name()))
    }
}

/// `len` bytes that do not compress (PostgreSQL compresses large values, so a repeated byte
/// would measure nothing): xorshift64 output seeded from a fresh UUID v7's random bits.
fn incompressible(len: usize) -> Vec<u8> {
    let seed = uuid::Uuid::now_v7().as_u128();
    let mut state = (seed as u64 ^ (seed >> 64) as u64) | 1;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// One finished task's whole life in `log`.
async fn finish_one(log: &dyn TaskLog, payload: Vec<u8>) -> Result<(), String> {
    let task = Task::from_spec(TaskSpec::new("storage.cost", payload), Utc::now());
    log.create(&task).await.map_err(|e| e.to_string())?;
    let changes = [
        StateChange::new(task.id, TaskState::Queued),
        StateChange::new(task.id, TaskState::InProgress).worker("12345-0123456789ab"),
        StateChange::new(task.id, TaskState::Success)
            .result(Some(b"a 16-byte result".to_vec()))
            .duration(std::time::Duration::from_millis(12))
            .worker("12345-0123456789ab"),
    ];
    for change in &changes {
        log.record(change).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Bytes per finished task with `payload_bytes` of payload.
async fn measure(
    log: &Arc<dyn TaskLog>,
    store: &Store<'_>,
    tasks: u64,
    payload_bytes: usize,
) -> Result<f64, String> {
    let before = store.bytes()?;
    let results: Vec<Result<(), String>> = futures::stream::iter(0..tasks)
        .map(|_| finish_one(log.as_ref(), incompressible(payload_bytes)))
        .buffer_unordered(IN_FLIGHT)
        .collect()
        .await;
    if let Some(Err(error)) = results.into_iter().find(Result::is_err) {
        return Err(error);
    }
    log.flush().await.map_err(|e| e.to_string())?;
    let after = store.bytes()?;
    Ok(after.saturating_sub(before) as f64 / tasks as f64)
}

async fn main_inner() -> Result<(), String> {
    let args = args()?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let suffix = &cogman::TaskId::new().as_uuid().simple().to_string()[20..];
    let name = format!("storage_cost_{suffix}");
    let sqlite_path = dir.path().join("cogman.db");
    let base = Config {
        sqlite: config::SqliteConfig {
            path: sqlite_path.clone(),
            ..config::SqliteConfig::default()
        },
        ..Config::default()
    };
    let stores = [
        (base.clone(), Store::Sqlite(&sqlite_path)),
        (
            Config {
                postgres: config::PostgresConfig {
                    uri: Some(args.postgres.clone()),
                    schema: name.clone(),
                    ..config::PostgresConfig::default()
                },
                ..base.clone()
            },
            Store::Postgres {
                uri: &args.postgres,
                schema: &name,
            },
        ),
        (
            Config {
                redis: config::RedisConfig {
                    uri: Some(args.redis.clone()),
                    namespace: name.clone(),
                    ..config::RedisConfig::default()
                },
                ..base.clone()
            },
            Store::Redis {
                uri: &args.redis,
                namespace: &name,
            },
        ),
    ];
    println!("bytes per finished task ({} tasks each):", args.tasks);
    for (config, store) in &stores {
        if !args.logs.iter().any(|l| l == store.key()) {
            continue;
        }
        let started = std::time::Instant::now();
        let backends = Backends::open(config).await.map_err(|e| e.to_string())?;
        let mut figures = Vec::new();
        for payload in [100, 10 * 1024] {
            figures.push((
                payload,
                measure(&backends.log, store, args.tasks, payload).await,
            ));
        }
        let _ = backends.broker.close().await;
        drop(backends);
        match store {
            Store::Postgres { uri, schema } => {
                run(
                    "psql",
                    &[uri, "-qAtc", &format!("DROP SCHEMA {schema} CASCADE")],
                    None,
                )?;
            }
            Store::Redis { uri, namespace } => {
                let keys = run(
                    "redis-cli",
                    &["-u", uri, "--scan", "--pattern", &format!("{namespace}:*")],
                    None,
                )?;
                let commands: String = keys.lines().map(|k| format!("DEL {k}\n")).collect();
                run("redis-cli", &["-u", uri], Some(&commands))?;
            }
            Store::Sqlite(_) => {}
        }
        for (payload, figure) in figures {
            let figure = figure?;
            println!(
                "  {:<10} payload {payload:>5} B: {figure:>8.0} B/task",
                store.name()
            );
        }
        eprintln!("  ({} took {:?})", store.name(), started.elapsed());
    }
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    match main_inner().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("storage_cost: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
