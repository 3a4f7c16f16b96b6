//! The random faults of the soak, each injected and healed in one call, printed with a
//! timestamp: RabbitMQ stopped, cut, frozen; Redis or PostgreSQL restarted; a worker replaced.

use std::future::Future;
use std::time::Duration;

use cogman::{Config, StatsSnapshot, Worker};
use cogman_testkit::servers::ServerError;
use tokio::time::Instant;

use crate::load::Ledger;
use crate::{HEARTBEAT_SECS, Servers, say, start_worker};

/// How long a server stays down (or frozen beyond the heartbeat) in one fault.
const OUTAGE: Duration = Duration::from_secs(3);

/// An upper bound of one fault's duration (the freeze plus a restart of a server).
pub(crate) const LONGEST: Duration = Duration::from_secs(15);

/// Attempts at healing a fault before the soak gives up on it.
const HEAL_ATTEMPTS: u32 = 5;

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    RabbitStopApp,
    RabbitCloseConnections,
    RabbitFreeze,
    RedisRestart,
    PostgresRestart,
    WorkerReplaced,
}

/// Every kind, in the order of their `--faults` names.
pub(crate) const ALL: [Fault; 6] = [
    Fault::RabbitStopApp,
    Fault::RabbitCloseConnections,
    Fault::RabbitFreeze,
    Fault::RedisRestart,
    Fault::PostgresRestart,
    Fault::WorkerReplaced,
];

impl Fault {
    /// The `--faults` name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Fault::RabbitStopApp => "stop-app",
            Fault::RabbitCloseConnections => "close-connections",
            Fault::RabbitFreeze => "freeze",
            Fault::RedisRestart => "redis",
            Fault::PostgresRestart => "postgres",
            Fault::WorkerReplaced => "worker",
        }
    }
}

/// The servers and workers faults are injected into.
pub(crate) struct Faults<'a> {
    servers: &'a Servers,
    config: &'a Config,
    ledger: &'a Ledger,
    kinds: Vec<Fault>,
    /// The kinds still to come in this round (every kind once per round, in random order).
    deck: Vec<Fault>,
    rng: u64,
    start: Instant,
    injected: usize,
    retired: Vec<StatsSnapshot>,
}

impl<'a> Faults<'a> {
    pub(crate) fn new(
        servers: &'a Servers,
        config: &'a Config,
        ledger: &'a Ledger,
        kinds: Vec<Fault>,
        seed: u64,
        start: Instant,
    ) -> Self {
        Faults {
            servers,
            config,
            ledger,
            kinds,
            deck: Vec::new(),
            rng: seed,
            start,
            injected: 0,
            retired: Vec::new(),
        }
    }

    /// splitmix64: a small reproducible generator (the seed is printed).
    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn pick(&mut self, n: usize) -> usize {
        // n is small; the modulo bias is irrelevant here.
        usize::try_from(self.next_random() % n as u64).unwrap_or(0)
    }

    /// The next kind: every kind comes once per round, rounds shuffled (Fisher-Yates).
    fn next_fault(&mut self) -> Fault {
        if self.deck.is_empty() {
            self.deck = self.kinds.clone();
            for i in (1..self.deck.len()).rev() {
                let j = self.pick(i + 1);
                self.deck.swap(i, j);
            }
        }
        self.deck.pop().unwrap_or(Fault::RabbitCloseConnections)
    }

    /// Injects one random fault and heals it.
    pub(crate) async fn inject_random(&mut self, workers: &mut [Worker]) {
        let fault = self.next_fault();
        self.injected += 1;
        let began = Instant::now();
        say(
            self.start,
            format!(
                "fault {}: {fault:?} — {}",
                self.injected,
                self.ledger.summary()
            ),
        );
        let healed = match fault {
            Fault::RabbitStopApp => {
                let down = self.servers.rabbit.stop_app().await;
                tokio::time::sleep(OUTAGE).await;
                let up = heal("start_app", || self.servers.rabbit.start_app()).await;
                down.and(up).map_err(|e| e.to_string())
            }
            Fault::RabbitCloseConnections => self
                .servers
                .rabbit
                .close_all_connections()
                .await
                .map_err(|e| e.to_string()),
            Fault::RabbitFreeze => match self.servers.rabbit.freeze().await {
                Ok(frozen) => {
                    tokio::time::sleep(Duration::from_secs(2 * HEARTBEAT_SECS) + OUTAGE).await;
                    frozen.thaw().await.map_err(|e| e.to_string())
                }
                Err(e) => Err(e.to_string()),
            },
            Fault::RedisRestart => {
                self.servers.redis.stop().await;
                tokio::time::sleep(OUTAGE).await;
                heal("Redis start_again", || self.servers.redis.start_again())
                    .await
                    .map_err(|e| e.to_string())
            }
            Fault::PostgresRestart => {
                let down = self.servers.postgres.stop().await;
                tokio::time::sleep(OUTAGE).await;
                let up = heal("PostgreSQL start_again", || {
                    self.servers.postgres.start_again()
                })
                .await;
                down.and(up).map_err(|e| e.to_string())
            }
            Fault::WorkerReplaced => self.replace_worker(workers).await,
        };
        match healed {
            Ok(()) => say(
                self.start,
                format!(
                    "fault {} healed after {:.1?}",
                    self.injected,
                    began.elapsed()
                ),
            ),
            Err(error) => say(
                self.start,
                format!("fault {} did not go as planned: {error}", self.injected),
            ),
        }
    }

    /// Stops a random worker (its stats are kept) and starts a fresh one in its place.
    async fn replace_worker(&mut self, workers: &mut [Worker]) -> Result<(), String> {
        let index = self.pick(workers.len());
        let fresh = start_worker(self.config, self.ledger).await?;
        let old = std::mem::replace(&mut workers[index], fresh);
        say(self.start, format!("stopping worker {}", old.id()));
        // `stop` also closes the worker's own client, so dropping it closes its connections.
        old.stop().await;
        self.retired.push(old.stats());
        Ok(())
    }

    /// The stats of the workers replaced on the way.
    pub(crate) fn into_retired_stats(self) -> Vec<StatsSnapshot> {
        self.retired
    }
}

/// Runs `step` until it works, a few times, so one slow restart does not end the soak.
async fn heal<F, Fut>(what: &str, step: F) -> Result<(), ServerError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<(), ServerError>>,
{
    let mut attempt = 1;
    loop {
        match step().await {
            Ok(()) => return Ok(()),
            Err(error) if attempt >= HEAL_ATTEMPTS => return Err(error),
            Err(error) => {
                eprintln!("{what} failed (attempt {attempt}): {error}; trying again");
                attempt += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
