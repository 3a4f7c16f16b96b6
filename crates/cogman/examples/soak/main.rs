//! Soak (fault #20 of the reliability plan): a long run with a random fault every few seconds.
//!
//! Starts a private RabbitMQ node, Redis and PostgreSQL of its own (the shared servers are
//! never touched), 2-4 workers and a client sending tasks at a steady pace through the tiered
//! log (Redis + PostgreSQL). Every `--fault-every` seconds it injects one random fault:
//! RabbitMQ `stop_app`/`start_app`, RabbitMQ `close_all_connections`, a frozen RabbitMQ
//! (`kill -STOP` beyond twice the heartbeat, then `-CONT`), a Redis restart (empty), a
//! PostgreSQL restart (`-m immediate`) or a worker stopped and a fresh one started (each kind
//! once per round of six, in an order drawn from `--seed`). At the end it stops sending,
//! waits until every accepted task is `success` in PostgreSQL and prints a checker summary
//! (sent, accepted, refused by reason, runs, duplicate runs against the duplicates the
//! workers counted, lost tasks) with memory, fd and connection counts at start, mid-run and
//! end (and before each fault). Exits non-zero when a task was lost, ran though refused, or
//! ran twice uncounted.
//!
//! ```text
//! cargo run --release -p cogman --example soak -- --minutes 5
//!     [--tasks-per-second 30] [--workers 3] [--fault-every 10] [--seed N]
//!     [--faults stop-app,close-connections,freeze,redis,postgres,worker]
//! ```
//! Needs `rabbitmq-server`, `redis-server` and PostgreSQL's `initdb` installed, and root (the
//! private servers run as their own users). It runs for minutes, so it is not part of CI.

mod faults;
mod load;
mod report;

use std::process::ExitCode;
use std::time::Duration;

use cogman::config;
use cogman::{Client, Config, TaskId, Worker};
use cogman_testkit::servers::{PrivatePostgres, PrivateRabbit, PrivateRedis};
use tokio::time::Instant;

use crate::faults::{Fault, Faults};
use crate::load::{Ledger, Sender};
use crate::report::Sample;

/// AMQP heartbeat: a frozen node is noticed after twice this.
const HEARTBEAT_SECS: u64 = 2;

/// The private servers of the soak.
pub(crate) struct Servers {
    pub(crate) rabbit: PrivateRabbit,
    pub(crate) redis: PrivateRedis,
    pub(crate) postgres: PrivatePostgres,
}

/// What the command line asks for.
struct Args {
    minutes: f64,
    tasks_per_second: f64,
    workers: usize,
    fault_every: Duration,
    faults: Vec<Fault>,
    seed: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        minutes: 5.0,
        tasks_per_second: 30.0,
        workers: 3,
        fault_every: Duration::from_secs(10),
        faults: faults::ALL.to_vec(),
        seed: u64::from(std::process::id()) ^ chrono::Utc::now().timestamp_micros().unsigned_abs(),
    };
    let mut words = std::env::args().skip(1);
    while let Some(flag) = words.next() {
        let value = words
            .next()
            .ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--minutes" => args.minutes = value.parse().map_err(|e| bad(&e))?,
            "--tasks-per-second" => args.tasks_per_second = value.parse().map_err(|e| bad(&e))?,
            "--workers" => args.workers = value.parse().map_err(|e| bad(&e))?,
            "--fault-every" => {
                args.fault_every = Duration::from_secs(value.parse().map_err(|e| bad(&e))?);
            }
            "--seed" => args.seed = value.parse().map_err(|e| bad(&e))?,
            "--faults" => {
                args.faults = value
                    .split(',')
                    .map(|name| {
                        faults::ALL
                            .into_iter()
                            .find(|f| f.name() == name)
                            .ok_or_else(|| bad(&"a fault is one of stop-app, close-connections, freeze, redis, postgres, worker"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if !(args.minutes > 0.0 && args.tasks_per_second > 0.0 && (1..=16).contains(&args.workers)) {
        return Err("--minutes and --tasks-per-second must be positive, --workers 1..=16".into());
    }
    Ok(args)
}

/// Prints `message` with the wall-clock time and the seconds since the start.
pub(crate) fn say(start: Instant, message: impl std::fmt::Display) {
    println!(
        "{} [{:>6.1}s] {message}",
        chrono::Utc::now().format("%H:%M:%S%.3f"),
        start.elapsed().as_secs_f64()
    );
}

/// A config on the private servers with names of its own and short timeouts.
fn config(rabbit: &PrivateRabbit, redis: &PrivateRedis, postgres: &PrivatePostgres) -> Config {
    let id = TaskId::new().as_uuid().simple().to_string();
    let name = format!("soak_{}", &id[id.len() - 12..]);
    Config {
        sqlite: config::SqliteConfig {
            path: std::env::temp_dir().join(format!("{name}.db")),
            ..config::SqliteConfig::default()
        },
        amqp: config::AmqpConfig {
            queue_prefix: format!("{name}."),
            ..config::AmqpConfig::new(format!("{}?heartbeat={HEARTBEAT_SECS}", rabbit.uri()))
        },
        redis: config::RedisConfig {
            namespace: name.clone(),
            ..config::RedisConfig::new(redis.uri())
        },
        postgres: config::PostgresConfig {
            schema: name,
            ..config::PostgresConfig::new(postgres.uri())
        },
        request_timeout: Duration::from_secs(1),
        connection_timeout: Duration::from_secs(60),
        retry_backoff: Duration::from_millis(20),
        retry_backoff_max: Duration::from_millis(100),
        shutdown_grace: Duration::from_secs(5),
        ..Config::default()
    }
}

/// A started worker whose handler records its runs in `ledger`.
pub(crate) async fn start_worker(config: &Config, ledger: &Ledger) -> Result<Worker, String> {
    let worker = Worker::connect(config)
        .await
        .map_err(|e| format!("worker connects: {e}"))?;
    worker
        .register(load::TASK, ledger.handler())
        .map_err(|e| format!("register: {e}"))?;
    worker
        .start()
        .await
        .map_err(|e| format!("worker starts: {e}"))?;
    Ok(worker)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(error) => {
            eprintln!("soak: {error}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("soak: {error}");
            ExitCode::from(2)
        }
    }
}

/// The whole soak; `Ok(false)` when the checker is not clean.
async fn run(args: Args) -> Result<bool, String> {
    let start = Instant::now();
    say(
        start,
        format!(
            "soak: {} min, {} tasks/s, {} workers, a fault every {:?}, seed {}",
            args.minutes, args.tasks_per_second, args.workers, args.fault_every, args.seed
        ),
    );
    let (rabbit, redis, postgres) = tokio::join!(
        PrivateRabbit::start(),
        PrivateRedis::start(),
        PrivatePostgres::start()
    );
    let rabbit = rabbit.map_err(|e| format!("private RabbitMQ: {e}"))?;
    let redis = redis.map_err(|e| format!("private Redis: {e}"))?;
    let postgres = postgres.map_err(|e| format!("private PostgreSQL: {e}"))?;
    say(
        start,
        format!(
            "servers up: RabbitMQ :{}, Redis :{}, PostgreSQL :{}",
            rabbit.port(),
            redis.port(),
            postgres.port()
        ),
    );
    let config = config(&rabbit, &redis, &postgres);
    let servers = [
        ("rabbitmq", rabbit.port()),
        ("redis", redis.port()),
        ("postgres", postgres.port()),
    ];
    let private = Servers {
        rabbit,
        redis,
        postgres,
    };
    let ledger = Ledger::default();
    let mut workers = Vec::new();
    for _ in 0..args.workers {
        workers.push(start_worker(&config, &ledger).await?);
    }
    let client = Client::connect(&config)
        .await
        .map_err(|e| format!("client connects: {e}"))?;
    let mut samples = vec![Sample::take("start", &servers)];

    // Sending stops early enough that the drain fits in the minutes asked for.
    let total = Duration::from_secs_f64(args.minutes * 60.0);
    let send_for = total.saturating_sub(start.elapsed() + Duration::from_secs(20));
    let send_until = Instant::now() + send_for.max(Duration::from_secs(20));
    let sender = Sender::start(client.clone(), args.tasks_per_second);
    let mid = Instant::now() + send_for / 2;
    let mut faults = Faults::new(&private, &config, &ledger, args.faults, args.seed, start);
    let mut next = Instant::now() + args.fault_every;
    while next + faults::LONGEST < send_until {
        tokio::time::sleep_until(next).await;
        if samples.len() == 1 && Instant::now() >= mid {
            samples.push(Sample::take("mid", &servers));
        }
        say(start, Sample::take("now", &servers));
        faults.inject_random(&mut workers).await;
        next += args.fault_every;
        next = next.max(Instant::now() + Duration::from_secs(1));
    }
    tokio::time::sleep_until(send_until).await;
    if samples.len() == 1 {
        samples.push(Sample::take("mid", &servers));
    }
    say(start, "stop sending");
    let sent = sender.finish().await;
    say(start, format!("{} sends ended", sent.len()));
    let check = report::check(&config, &sent, &ledger, start).await?;
    let mut stats = faults.into_retired_stats();
    for worker in workers {
        worker.stop().await;
        stats.push(worker.stats());
    }
    client.close().await;
    samples.push(Sample::take("end", &servers));
    Ok(report::print(&check, &sent, &ledger, &stats, &samples))
}
