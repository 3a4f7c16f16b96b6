//! [`Link`]: one supervised AMQP connection. A background task owns the connection, notices
//! when it dies (connection error events, or its state leaving `connected`) and rebuilds it —
//! connect, declare the topology — with capped exponential backoff, forever, until the broker
//! is closed. Users ask the link for the current [`Session`] and open their channels on it; a
//! new session (higher generation) means every channel of the old one is gone. A link whose
//! first connection fails transiently starts down and connects in the background.
//!
//! lapin's own auto-recovery is not used: it gives up after 16 attempts (about 11 minutes)
//! and recovered consumers can silently stop (lapin#389), so cogman rebuilds everything itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt as _;
use lapin::uri::AMQPUri;
use lapin::{Channel, Connection, ConnectionProperties, Event};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use cogman_core::BrokerError;

use crate::config::{AmqpConfig, ConfigError, redact_uris, split_uris};
use crate::topology::Topology;
use crate::{channel, error};

/// Longest wait for one connection attempt (TCP, handshake and topology).
const CONNECT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(30);
/// Heartbeat asked for when the URI does not say.
const DEFAULT_HEARTBEAT_SECS: u16 = 10;
/// First and largest pause between reconnection attempts.
const BACKOFF_START: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// How often the connection state is polled, on top of its error events.
const HEALTH_POLL: Duration = Duration::from_millis(250);

/// A live connection and its generation (1 for the first, +1 for each rebuild).
#[derive(Clone)]
pub(crate) struct Session {
    pub(crate) generation: u64,
    pub(crate) connection: Arc<Connection>,
}

impl Session {
    /// True while the connection is usable.
    pub(crate) fn is_connected(&self) -> bool {
        self.connection.status().connected()
    }
}

#[derive(Clone)]
enum State {
    Up(Session),
    Down(Arc<str>),
    Closed,
}

/// What a link needs to (re)connect: the parsed URIs (one per broker node), the connection
/// name and the topology. Attempts go to one URI at a time: the first, and after each failed
/// attempt the next one, round-robin, so a client fails over to another node of a cluster
/// and stays there while it works.
#[derive(Debug)]
pub(crate) struct Connector {
    uris: Vec<AMQPUri>,
    /// Index (modulo `uris.len()`) of the URI the next attempt uses.
    next: AtomicUsize,
    name: String,
    topology: Arc<Topology>,
}

impl Connector {
    /// Parses the config's URIs and asks for heartbeats where they do not.
    pub(crate) fn new(config: &AmqpConfig, topology: Arc<Topology>) -> Result<Self, BrokerError> {
        let uris = split_uris(&config.uri)
            .map(|text| {
                let mut uri: AMQPUri = text.parse().map_err(|reason: String| {
                    error::config(ConfigError::InvalidUri {
                        uri: redact_uris(text),
                        reason,
                    })
                })?;
                if uri.query.heartbeat.is_none() {
                    uri.query.heartbeat = Some(DEFAULT_HEARTBEAT_SECS);
                }
                if uri.query.connection_timeout.is_none() {
                    uri.query.connection_timeout = Some(10_000);
                }
                Ok(uri)
            })
            .collect::<Result<Vec<_>, BrokerError>>()?;
        if uris.is_empty() {
            return Err(error::config(ConfigError::InvalidUri {
                uri: String::new(),
                reason: "no URI given".into(),
            }));
        }
        Ok(Connector {
            uris,
            next: AtomicUsize::new(0),
            name: config.connection_name.clone(),
            topology,
        })
    }

    /// One attempt: connect to the current URI and declare the topology; after a failure the
    /// next attempt uses the next URI.
    async fn connect(&self, role: &str) -> Result<Connection, BrokerError> {
        let index = self.next.load(Ordering::Relaxed) % self.uris.len();
        let connected = self.connect_to(&self.uris[index], role).await;
        if connected.is_err() && self.uris.len() > 1 {
            // Several links share the connector: move on only if no other attempt already did.
            let _ = self.next.compare_exchange(
                index,
                (index + 1) % self.uris.len(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
        connected
    }

    async fn connect_to(&self, uri: &AMQPUri, role: &str) -> Result<Connection, BrokerError> {
        let attempt = async {
            let props = ConnectionProperties::default()
                .with_connection_name(format!("{}/{role}", self.name).into());
            let connection = Connection::connect_uri(uri.clone(), props)
                .await
                .map_err(error::connect)?;
            let declared = async {
                let channel = connection.create_channel().await?;
                self.topology.declare(&channel).await?;
                channel.close(200, "topology declared".into()).await
            }
            .await;
            if let Err(e) = declared {
                let _ = connection.close(200, "topology refused".into()).await;
                return Err(error::connect(e));
            }
            Ok(connection)
        };
        tokio::time::timeout(CONNECT_ATTEMPT_TIMEOUT, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(error::unavailable_msg(format!(
                    "connection attempt timed out after {CONNECT_ATTEMPT_TIMEOUT:?}"
                )))
            })
    }
}

/// A supervised connection; cheap to clone.
#[derive(Clone)]
pub(crate) struct Link {
    role: &'static str,
    state: watch::Receiver<State>,
}

impl std::fmt::Debug for Link {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let generation = self.current().map(|s| s.generation);
        f.debug_struct("Link")
            .field("role", &self.role)
            .field("generation", &generation)
            .finish()
    }
}

impl Link {
    /// Connects once, then supervises the connection in a task tracked by `tracker` until
    /// `cancel` fires. When RabbitMQ cannot be reached now (a transient failure), the link
    /// starts down and the supervisor keeps connecting in the background, so a client or
    /// worker started during an outage runs and catches up; a permanent failure (refused
    /// credentials, a conflicting queue) is returned at once.
    pub(crate) async fn start(
        connector: Arc<Connector>,
        role: &'static str,
        cancel: CancellationToken,
        tracker: &TaskTracker,
    ) -> Result<Link, BrokerError> {
        let (first, initial) = match connector.connect(role).await {
            Ok(connection) => {
                let session = Session {
                    generation: 1,
                    connection: Arc::new(connection),
                };
                (Some(session.clone()), State::Up(session))
            }
            Err(e) if e.is_transient() => {
                let reason = error::chain(&e);
                tracing::warn!(role, error = %reason, "RabbitMQ unreachable; connecting in the background");
                (None, State::Down(Arc::from(reason.as_str())))
            }
            Err(e) => return Err(e),
        };
        let (tx, state) = watch::channel(initial);
        tracker.spawn(supervise(connector, role, tx, cancel, first));
        Ok(Link { role, state })
    }

    /// The current session, if the connection is up.
    pub(crate) fn current(&self) -> Option<Session> {
        match &*self.state.borrow() {
            State::Up(session) if session.is_connected() => Some(session.clone()),
            _ => None,
        }
    }

    /// A new channel on the current connection, waiting for one as [`Link::session`] does.
    ///
    /// # Errors
    /// As [`Link::session`]; [`BrokerError::Unavailable`] when the channel cannot be opened.
    pub(crate) async fn channel(&self, deadline: Option<Instant>) -> Result<Channel, BrokerError> {
        let session = self.session(deadline).await?;
        channel::open(&session.connection).await
    }

    /// Waits until the connection is up (at most until `deadline`, forever when `None`).
    ///
    /// # Errors
    /// [`BrokerError::Closed`] once the broker is closed; [`BrokerError::Unavailable`] with the
    /// last connection error when the deadline passes.
    pub(crate) async fn session(&self, deadline: Option<Instant>) -> Result<Session, BrokerError> {
        let mut state = self.state.clone();
        loop {
            let last_error = match &*state.borrow_and_update() {
                State::Up(session) if session.is_connected() => return Ok(session.clone()),
                State::Up(_) => Arc::from("connection lost; reconnecting"),
                State::Down(reason) => reason.clone(),
                State::Closed => return Err(BrokerError::Closed),
            };
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Err(error::unavailable_msg(format!(
                    "RabbitMQ {} connection unavailable: {last_error}",
                    self.role
                )));
            }
            let pause = deadline.map_or(HEALTH_POLL, |d| {
                HEALTH_POLL.min(d.saturating_duration_since(Instant::now()))
            });
            tokio::select! {
                changed = state.changed() => {
                    if changed.is_err() {
                        return Err(BrokerError::Closed);
                    }
                }
                () = tokio::time::sleep(pause) => {}
            }
        }
    }
}

/// The supervisor: watches the current connection, rebuilds it when it dies (or builds the
/// first one, when `first` is `None`).
async fn supervise(
    connector: Arc<Connector>,
    role: &'static str,
    tx: watch::Sender<State>,
    cancel: CancellationToken,
    first: Option<Session>,
) {
    let mut generation = u64::from(first.is_some());
    let mut current = first;
    loop {
        if let Some(session) = current.take() {
            let reason = tokio::select! {
                () = cancel.cancelled() => {
                    close(&session.connection).await;
                    tx.send_replace(State::Closed);
                    return;
                }
                reason = broken(&session.connection) => reason,
            };
            tracing::warn!(role, generation, %reason, "RabbitMQ connection lost; reconnecting");
            tx.send_replace(State::Down(Arc::from(reason.as_str())));
        }
        let mut backoff = BACKOFF_START;
        let mut failures = 0_u32;
        loop {
            let attempt = tokio::select! {
                () = cancel.cancelled() => {
                    tx.send_replace(State::Closed);
                    return;
                }
                attempt = connector.connect(role) => attempt,
            };
            match attempt {
                Ok(connection) => {
                    generation += 1;
                    tracing::info!(
                        role,
                        generation,
                        failures,
                        "RabbitMQ connection re-established"
                    );
                    let session = Session {
                        generation,
                        connection: Arc::new(connection),
                    };
                    tx.send_replace(State::Up(session.clone()));
                    current = Some(session);
                    break;
                }
                Err(e) => {
                    failures += 1;
                    let reason = error::chain(&e);
                    if failures == 1 {
                        tracing::warn!(role, error = %reason, "RabbitMQ reconnection failed; retrying");
                    } else {
                        tracing::debug!(role, failures, error = %reason, "RabbitMQ reconnection failed");
                    }
                    tx.send_replace(State::Down(Arc::from(reason.as_str())));
                    tokio::select! {
                        () = cancel.cancelled() => {
                            tx.send_replace(State::Closed);
                            return;
                        }
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }
}

/// Resolves when `connection` is no longer usable, with the reason. lapin also reports
/// channel-level errors (a 404 on one channel, say) as error events; those leave the
/// connection up and are ignored here.
async fn broken(connection: &Connection) -> String {
    let mut events = connection.events_listener();
    let mut poll = tokio::time::interval(HEALTH_POLL);
    loop {
        tokio::select! {
            event = events.next() => match event {
                Some(Event::Error(e)) if !connection.status().connected() => return e.to_string(),
                Some(Event::Error(e)) => tracing::debug!(error = %e, "RabbitMQ channel error"),
                Some(_) => {}
                None => return "connection event stream ended".into(),
            },
            _ = poll.tick() => {
                if !connection.status().connected() {
                    return "connection is no longer connected".into();
                }
            }
        }
    }
}

/// Closes a connection politely, without waiting long for a broker that does not answer.
pub(crate) async fn close(connection: &Connection) {
    if connection.status().connected() {
        let _ = tokio::time::timeout(
            Duration::from_secs(2),
            connection.close(200, "cogman broker closed".into()),
        )
        .await;
    }
}
