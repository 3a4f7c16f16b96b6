//! The command line: every subcommand and flag, with its help text.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

/// cogman: a distributed task runner. With no configuration it runs on a local SQLite file
/// (`./cogman.db`); set `amqp.uri` (and `redis.uri`/`postgres.uri`) to run distributed.
#[derive(Debug, Parser)]
#[command(name = "cogman", version, about, long_about = None)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) config: ConfigArgs,
    /// Log more (or set COGMAN_LOG, e.g. COGMAN_LOG=debug).
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Where the configuration comes from: defaults, then the file, then `COGMAN_<FIELD>`
/// environment variables, then these flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "Configuration")]
pub(crate) struct ConfigArgs {
    /// A TOML config file (fields as in docs/configuration.md); also read from COGMAN_CONFIG
    /// (empty: none).
    #[arg(long, global = true)]
    pub(crate) config: Option<PathBuf>,
    /// The SQLite file of the embedded mode [default: cogman.db].
    #[arg(long, global = true)]
    pub(crate) db: Option<PathBuf>,
    /// RabbitMQ URI: run distributed.
    #[arg(long, global = true)]
    pub(crate) amqp: Option<String>,
    /// Redis URI for the task log.
    #[arg(long, global = true)]
    pub(crate) redis: Option<String>,
    /// PostgreSQL URI for the durable task log.
    #[arg(long, global = true)]
    pub(crate) postgres: Option<String>,
    /// Export spans to this OTLP/HTTP collector (e.g. http://127.0.0.1:4318), overriding the
    /// config's `otlp_endpoint`.
    #[arg(long, global = true)]
    pub(crate) otlp_endpoint: Option<String>,
}

/// Where send, status, tasks, retry and cancel go: a running `cogman serve` instead of the
/// backends. Only those commands take (and show) these options.
#[derive(Debug, Args)]
#[command(next_help_heading = "Through a running `cogman serve`")]
pub(crate) struct RemoteArgs {
    /// Use the REST API at this URL (e.g. http://127.0.0.1:8080) instead of the backends.
    #[arg(long, env = "COGMAN_SERVER")]
    pub(crate) server: Option<String>,
    /// Bearer token for --server.
    #[arg(long, env = "COGMAN_API_TOKEN", hide_env_values = true)]
    pub(crate) token: Option<String>,
}

/// A `--delay` or `--timeout`: a duration such as 30s, 5m or 1h30m; never negative.
fn parse_duration(text: &str) -> Result<Duration, String> {
    if text.trim_start().starts_with('-') {
        return Err("a duration cannot be negative".to_owned());
    }
    humantime::parse_duration(text)
        .map_err(|_| "expected a duration with a unit, such as 30s, 5m or 1h30m".to_owned())
}

/// A `--retry`: a whole number of retries.
fn parse_retry(text: &str) -> Result<u32, String> {
    text.trim()
        .parse::<u32>()
        .map_err(|_| "expected a whole number of retries: 0, 1, 2, …".to_owned())
}

/// The task field `status --raw` writes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum RawField {
    /// The handler's result.
    Result,
    /// The task's payload.
    Payload,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the demo: a worker and a mix of tasks (priorities, failures and retries, delays),
    /// with a progress bar and a summary. In the embedded mode it uses a database of its own,
    /// removed at the end, unless --db is given.
    Demo(DemoArgs),
    /// Run a worker whose handlers are shell commands (payload on stdin, stdout = result,
    /// non-zero exit = failure).
    Worker(WorkerArgs),
    /// Send a task and print its id.
    Send(SendArgs),
    /// Show one task, its attempts and its history.
    Status(StatusArgs),
    /// List tasks, newest first.
    Tasks(TasksArgs),
    /// Measure throughput, latency and CPU per task against an honest raw baseline of the same
    /// broker (plain lapin or plain rusqlite doing the same work), in rounds.
    Bench(BenchArgs),
    /// Serve the REST API (docs/api.md), with a worker running shell-command handlers unless
    /// --no-worker.
    Serve(ServeArgs),
    /// Run a finished task again as a new attempt and print the new id.
    Retry(RetryArgs),
    /// Cancel a task that has not finished.
    Cancel(CancelArgs),
    /// Periodic tasks: add, list, pause, resume, remove (docs/scheduling.md).
    Schedule(crate::commands::schedule::ScheduleArgs),
    /// Pause, resume and list paused named queues (docs/scheduling.md).
    Queue(crate::commands::queue::QueueArgs),
    /// Rate and concurrency limits per task name, shared by every worker (docs/scheduling.md).
    Limit(crate::commands::limit::LimitArgs),
    /// List, requeue and purge dead letters: messages that can never run (malformed, poison),
    /// with the reason, on every backend.
    #[command(name = "dead-letters", subcommand)]
    DeadLetters(DeadLettersCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum DeadLettersCommand {
    /// List dead letters, newest first.
    List(DeadLettersListArgs),
    /// Send a dead letter's task again as a new attempt and print the new id.
    Requeue(DeadLetterIdArgs),
    /// Delete one dead letter (ID), or all of them (--all).
    Purge(DeadLettersPurgeArgs),
}

impl DeadLettersCommand {
    pub(crate) fn remote(&self) -> &RemoteArgs {
        match self {
            DeadLettersCommand::List(args) => &args.remote,
            DeadLettersCommand::Requeue(args) => &args.remote,
            DeadLettersCommand::Purge(args) => &args.remote,
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct DeadLettersListArgs {
    /// How many, 1 to 1000.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) limit: u32,
    /// Only entries with an id below this (printed under the table).
    #[arg(long)]
    pub(crate) before: Option<u64>,
    /// Print JSON, as the REST API answers `GET /api/v1/dead-letters`.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DeadLetterIdArgs {
    /// The dead letter's id (the first column of `cogman dead-letters list`).
    pub(crate) id: u64,
    #[command(flatten)]
    pub(crate) remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DeadLettersPurgeArgs {
    /// The dead letter's id.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    pub(crate) id: Option<u64>,
    /// Delete every dead letter.
    #[arg(long)]
    pub(crate) all: bool,
    #[command(flatten)]
    pub(crate) remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// How many tasks to send.
    #[arg(long, default_value_t = 300)]
    pub(crate) tasks: usize,
    /// Tasks the worker runs at once.
    #[arg(long, default_value_t = 16)]
    pub(crate) concurrency: u32,
    /// Print the summary as JSON instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct WorkerArgs {
    /// Print nothing per task (by default one line per finished attempt: time, name, id,
    /// attempt, outcome, duration).
    #[arg(long, short)]
    pub(crate) quiet: bool,
    /// A handler: NAME=COMMAND, run with `sh -c`. Repeat for more names.
    #[arg(long = "handler", value_name = "NAME=COMMAND", required = true)]
    pub(crate) handlers: Vec<String>,
    /// Tasks run at once (overrides the config's concurrency).
    #[arg(long)]
    pub(crate) concurrency: Option<u32>,
    /// Serve this worker's Prometheus metrics at http://ADDR/metrics (overrides the config's
    /// `metrics`; port 0 picks a free one).
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics: Option<std::net::SocketAddr>,
    /// A named queue to consume (repeat for more; overrides the config's `queues`, whose
    /// default is `default`).
    #[arg(long = "queue", value_name = "NAME")]
    pub(crate) queues: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The task name (a handler registered on some worker).
    pub(crate) name: String,
    /// The payload, as text (`-` reads stdin).
    #[arg(long, default_value = "")]
    pub(crate) payload: String,
    /// Read the payload from this file, as bytes (`-` reads stdin).
    #[arg(long, conflicts_with = "payload")]
    pub(crate) payload_file: Option<PathBuf>,
    /// High or Low.
    #[arg(long, default_value = "low")]
    pub(crate) priority: String,
    /// The named queue (only workers serving it run the task).
    #[arg(long, default_value = "default")]
    pub(crate) queue: String,
    /// Run no earlier than this from now (e.g. 30s, 5m).
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true)]
    pub(crate) delay: Option<Duration>,
    /// Retries after a failure.
    #[arg(long, default_value_t = 0, value_parser = parse_retry, allow_hyphen_values = true)]
    pub(crate) retry: u32,
    /// A key to trace the task by.
    #[arg(long)]
    pub(crate) primary_key: Option<String>,
    /// Handler timeout (e.g. 30s).
    #[arg(long, value_parser = parse_duration, allow_hyphen_values = true)]
    pub(crate) timeout: Option<Duration>,
    /// Send only if no live task holds this key; otherwise print the holder's id (and say so
    /// on stderr). Held until the task ends, or for --unique-for.
    #[arg(long)]
    pub(crate) unique_key: Option<String>,
    /// Hold --unique-key for this long from the send (e.g. 1h), even after the task ended.
    #[arg(long, requires = "unique_key", value_parser = parse_duration, allow_hyphen_values = true)]
    pub(crate) unique_for: Option<Duration>,
    /// Wait for the outcome (through every retry), print the result on stdout and exit 0 on
    /// success, 1 on failure or cancellation.
    #[arg(long)]
    pub(crate) wait: bool,
    /// Send one task per line of this file (`-` reads stdin), the line as its payload, one
    /// after the other; each id is printed once its send returned. A failed send is reported
    /// on stderr with its line number and the next line is sent; the exit code is 1 if any
    /// send failed.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with_all = ["payload", "payload_file", "wait", "unique_key"]
    )]
    pub(crate) each_line: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// The task id.
    pub(crate) id: String,
    /// Print JSON, as the REST API answers `GET /api/v1/tasks/{id}` (payload and result whole).
    #[arg(long, conflicts_with = "raw")]
    pub(crate) json: bool,
    /// Write the result (or, with `--raw payload`, the payload) as stored, bytes unchanged.
    #[arg(long, value_name = "FIELD", num_args = 0..=1, default_missing_value = "result")]
    pub(crate) raw: Option<RawField>,
    #[command(flatten)]
    pub(crate) remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TasksArgs {
    /// Only tasks in these states (repeat or separate with commas): initiated, scheduled,
    /// queued, in_progress, retry, success, failed, cancelled.
    #[arg(long, value_delimiter = ',')]
    pub(crate) status: Vec<String>,
    /// Only tasks with this name.
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Only tasks with this primary key.
    #[arg(long)]
    pub(crate) primary_key: Option<String>,
    /// How many, 1 to 1000.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) limit: u32,
    /// Continue after this cursor (printed under the table).
    #[arg(long)]
    pub(crate) after: Option<String>,
    /// Print JSON, as the REST API answers `GET /api/v1/tasks`.
    #[arg(long)]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// No-op tasks to run.
    #[arg(long, default_value_t = 5000)]
    pub(crate) tasks: usize,
    /// Worker instances.
    #[arg(long, default_value_t = 2)]
    pub(crate) workers: usize,
    /// Concurrency of each worker.
    #[arg(long, default_value_t = 32)]
    pub(crate) concurrency: u32,
    /// Rounds, each running the baseline and then cogman; the report gives medians.
    #[arg(long, default_value_t = 3)]
    pub(crate) rounds: usize,
    /// Print JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on, HOST:PORT (a name such as localhost:8080, or an IP address).
    /// Anything but loopback needs API tokens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub(crate) listen: String,
    /// Serve the API only, without a worker.
    #[arg(long)]
    pub(crate) no_worker: bool,
    /// A handler for the worker: NAME=COMMAND, run with `sh -c`. Repeat for more names.
    #[arg(
        long = "handler",
        value_name = "NAME=COMMAND",
        conflicts_with = "no_worker"
    )]
    pub(crate) handlers: Vec<String>,
    /// A file of API tokens, one `admin:<token>` or `read:<token>` per line (also read from
    /// COGMAN_API_TOKENS). Without tokens the API is open and must listen on loopback.
    #[arg(long)]
    pub(crate) token_file: Option<PathBuf>,
    /// A host name the API answers to (the `Host` header), besides IP addresses and
    /// `localhost`; other names are refused so web pages cannot reach the API by DNS
    /// rebinding. Repeat for more names; `*` allows any (also COGMAN_API_ALLOWED_HOSTS,
    /// comma-separated).
    #[arg(
        long = "allow-host",
        value_name = "NAME",
        env = "COGMAN_API_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub(crate) allowed_hosts: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct RetryArgs {
    /// The finished task's id.
    pub(crate) id: String,
    /// Retries the new attempt may use after a failure of its own.
    #[arg(long, default_value_t = 0, value_parser = parse_retry, allow_hyphen_values = true)]
    pub(crate) retry: u32,
    #[command(flatten)]
    pub(crate) remote: RemoteArgs,
}

#[derive(Debug, Args)]
pub(crate) struct CancelArgs {
    /// The task's id.
    pub(crate) id: String,
    #[command(flatten)]
    pub(crate) remote: RemoteArgs,
}
