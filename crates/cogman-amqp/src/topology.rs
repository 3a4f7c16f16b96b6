//! [`Topology`]: the stable names and arguments of every queue and exchange cogman uses on
//! RabbitMQ, and the idempotent declaration of all of them (same arguments every time, so any
//! number of clients and workers can declare concurrently). Each named queue has its own
//! high and low sets ([`QueueSet`]); the `default` one keeps the seed's names. Documented in
//! `docs/wire-format.md`.

use lapin::options::{
    ExchangeBindOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::{Channel, ExchangeKind};

use cogman_core::{BrokerError, DEFAULT_QUEUE, Priority, validate_queue_name};

use crate::config::{AmqpConfig, ConfigError, QueueType};
use crate::ladder::{self, DELAY_LEVELS};

/// Longest AMQP short string (queue names, routing keys).
const MAX_SHORT: usize = 255;

/// The work queues of one named queue: its high and its low set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSet {
    name: String,
    high: Vec<ShortString>,
    low: Vec<ShortString>,
}

impl QueueSet {
    /// The named queue (`default`, `images`, …).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The work queues of one priority, in index order.
    pub fn queues(&self, priority: Priority) -> &[ShortString] {
        match priority {
            Priority::High => &self.high,
            Priority::Low => &self.low,
        }
    }

    /// Every work queue of the set: the high ones, then the low ones.
    pub fn work_queues(&self) -> impl Iterator<Item = (Priority, &ShortString)> {
        self.high
            .iter()
            .map(|q| (Priority::High, q))
            .chain(self.low.iter().map(|q| (Priority::Low, q)))
    }

    /// The work queue at `index` (modulo the set size) of a priority, for round-robin.
    pub(crate) fn queue_at(&self, priority: Priority, index: usize) -> &ShortString {
        let set = self.queues(priority);
        &set[index % set.len()]
    }
}

/// The delay exit's binding pattern of work queue `queue`: the 23 delay words, then exactly
/// the queue's name (a `#.` pattern would also match longer names ending in `.{queue}`).
pub(crate) fn exit_pattern(queue: &str) -> String {
    let mut pattern = "*.".repeat(DELAY_LEVELS as usize);
    pattern.push_str(queue);
    pattern
}

/// Every name cogman uses on the broker, derived from an [`AmqpConfig`].
#[derive(Debug, Clone)]
pub struct Topology {
    prefix: String,
    high_count: u16,
    low_count: u16,
    default: QueueSet,
    dead_letter: ShortString,
    delay_levels: Vec<ShortString>,
    delay_deliver: ShortString,
    queue_type: QueueType,
    max_deliveries: u32,
}

impl Topology {
    /// The names for `config`.
    ///
    /// # Errors
    /// When the config is invalid (see [`AmqpConfig::validate`]).
    pub fn new(config: &AmqpConfig) -> Result<Topology, ConfigError> {
        config.validate()?;
        let prefix = &config.queue_prefix;
        let name = |suffix: String| -> ShortString {
            ShortString::try_new(format!("{prefix}{suffix}"))
                .expect("invariant: names are short, checked by AmqpConfig::validate")
        };
        Ok(Topology {
            prefix: prefix.clone(),
            high_count: config.high_queue_count,
            low_count: config.low_queue_count,
            default: QueueSet {
                name: DEFAULT_QUEUE.to_owned(),
                high: (0..config.high_queue_count)
                    .map(|i| name(format!("high_priority_queue_{i}")))
                    .collect(),
                low: (0..config.low_queue_count)
                    .map(|i| name(format!("low_priority_queue_{i}")))
                    .collect(),
            },
            dead_letter: name("cogman_dead_letter".into()),
            delay_levels: (0..DELAY_LEVELS)
                .map(|level| name(format!("cogman_delay_{level}")))
                .collect(),
            delay_deliver: name("cogman_delay_deliver".into()),
            queue_type: config.queue_type,
            max_deliveries: config.max_deliveries,
        })
    }

    /// The kind of every queue declared.
    pub fn queue_type(&self) -> QueueType {
        self.queue_type
    }

    /// The queues of one priority set of the `default` named queue, in index order.
    pub fn queues(&self, priority: Priority) -> &[ShortString] {
        self.default.queues(priority)
    }

    /// Every work queue of the `default` named queue: the high set, then the low set.
    pub fn work_queues(&self) -> impl Iterator<Item = (Priority, &ShortString)> {
        self.default.work_queues()
    }

    /// The sets of the `default` named queue (the seed's names).
    pub fn default_set(&self) -> &QueueSet {
        &self.default
    }

    /// The sets of named queue `queue`: `{p}high_priority_queue_{i}` and
    /// `{p}low_priority_queue_{i}` for `default`, `{p}{queue}.high_priority_queue_{i}` and
    /// `{p}{queue}.low_priority_queue_{i}` for any other.
    ///
    /// # Errors
    /// [`BrokerError::Malformed`] for a name that is not a valid queue name, or that makes a
    /// queue name or delay routing key longer than AMQP allows with this prefix.
    pub fn set(&self, queue: &str) -> Result<QueueSet, BrokerError> {
        if queue == DEFAULT_QUEUE {
            return Ok(self.default.clone());
        }
        validate_queue_name(queue).map_err(|e| BrokerError::Malformed(e.to_string()))?;
        let names = |kind: &str, count: u16| -> Result<Vec<ShortString>, BrokerError> {
            (0..count)
                .map(|i| {
                    let name = format!("{}{queue}.{kind}_priority_queue_{i}", self.prefix);
                    // The delay routing key adds two characters per ladder level.
                    if name.len() + 2 * DELAY_LEVELS as usize > MAX_SHORT {
                        return Err(BrokerError::Malformed(format!(
                            "queue name {queue:?} is too long with queue_prefix {:?}: {name} \
                             and its delay routing keys must stay within {MAX_SHORT} bytes",
                            self.prefix
                        )));
                    }
                    Ok(short(&name))
                })
                .collect()
        };
        Ok(QueueSet {
            name: queue.to_owned(),
            high: names("high", self.high_count)?,
            low: names("low", self.low_count)?,
        })
    }

    /// The queue that holds dead-lettered messages: `{prefix}cogman_dead_letter`.
    pub fn dead_letter_queue(&self) -> &ShortString {
        &self.dead_letter
    }

    /// The delay ladder: level `L` is both a topic exchange and a queue named
    /// `{prefix}cogman_delay_{L}`, holding messages for 2^L seconds.
    pub fn delay_levels(&self) -> &[ShortString] {
        &self.delay_levels
    }

    /// The topic exchange that takes messages off the ladder to their work queue:
    /// `{prefix}cogman_delay_deliver`.
    pub fn delay_deliver_exchange(&self) -> &ShortString {
        &self.delay_deliver
    }

    /// Every queue cogman declares on connect: the work queues of the `default` named queue,
    /// the delay ladder and the dead-letter queue (the sets of other named queues are declared
    /// when first used).
    pub fn all_queues(&self) -> impl Iterator<Item = &ShortString> {
        self.default
            .high
            .iter()
            .chain(&self.default.low)
            .chain(&self.delay_levels)
            .chain([&self.dead_letter])
    }

    /// Every exchange cogman declares: one per delay level, then the delivering one.
    pub fn exchanges(&self) -> impl Iterator<Item = &ShortString> {
        self.delay_levels.iter().chain([&self.delay_deliver])
    }

    /// The exchange a delayed message is published to (the highest level).
    pub fn delay_entry_exchange(&self) -> &ShortString {
        self.delay_levels
            .last()
            .expect("invariant: the ladder has DELAY_LEVELS > 0 levels")
    }

    /// Declares every exchange, queue and binding. Idempotent.
    ///
    /// # Errors
    /// The channel's error; a `PRECONDITION_FAILED` means a queue of the same name already
    /// exists with other arguments (and closes the channel).
    pub(crate) async fn declare(&self, channel: &Channel) -> lapin::Result<()> {
        // Work queues first: the ones most likely to exist already (declared by the seed or
        // an operator), so a conflict is found before anything new is created.
        for priority in [Priority::High, Priority::Low] {
            for queue in self.default.queues(priority) {
                declare_queue(channel, queue, self.work_queue_arguments(priority)).await?;
            }
        }
        let dead_letter_args = match self.queue_type {
            QueueType::Classic => queue_mode("lazy"),
            QueueType::Quorum => quorum(),
        };
        declare_queue(channel, &self.dead_letter, dead_letter_args).await?;
        let exchange_options = ExchangeDeclareOptions {
            durable: true,
            ..ExchangeDeclareOptions::default()
        };
        for exchange in self.exchanges() {
            channel
                .exchange_declare(
                    exchange.clone(),
                    ExchangeKind::Topic,
                    exchange_options,
                    FieldTable::default(),
                )
                .await?;
        }
        for (level, queue) in (0_u32..).zip(&self.delay_levels) {
            let next = self.next_exchange(level);
            let mut args = match self.queue_type {
                QueueType::Classic => FieldTable::default(),
                QueueType::Quorum => quorum_dead_lettering(),
            };
            args.insert(
                "x-message-ttl".into(),
                AMQPValue::LongLongInt(ladder::level_ttl_ms(level)),
            );
            args.insert(
                "x-dead-letter-exchange".into(),
                AMQPValue::LongString(LongString::from(next.as_str())),
            );
            declare_queue(channel, queue, args).await?;
            channel
                .queue_bind(
                    queue.clone(),
                    queue.clone(),
                    short(&ladder::level_pattern(level, '1')),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
            channel
                .exchange_bind(
                    next.clone(),
                    queue.clone(),
                    short(&ladder::level_pattern(level, '0')),
                    ExchangeBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        self.declare_set(channel, &self.default).await?;
        // The `#.Q` bindings of earlier versions also matched the longer names of named
        // queues' work queues ending in `.Q`; the anchored ones just bound replace them.
        for (_, queue) in self.default.work_queues() {
            channel
                .queue_unbind(
                    queue.clone(),
                    self.delay_deliver.clone(),
                    short(&format!("#.{queue}")),
                    FieldTable::default(),
                )
                .await?;
        }
        Ok(())
    }

    /// Declares both sets of a named queue and their delay-exit bindings. Idempotent. Needs
    /// the delay exit exchange (declared by [`Topology::declare`] on connect).
    ///
    /// # Errors
    /// As [`Topology::declare`].
    pub(crate) async fn declare_set(&self, channel: &Channel, set: &QueueSet) -> lapin::Result<()> {
        for priority in [Priority::High, Priority::Low] {
            self.declare_set_priority(channel, set, priority).await?;
        }
        Ok(())
    }

    /// Declares the work queues of one priority of a named queue's sets, with their bindings
    /// (before consuming them, in case a queue was deleted while cogman ran).
    pub(crate) async fn declare_set_priority(
        &self,
        channel: &Channel,
        set: &QueueSet,
        priority: Priority,
    ) -> lapin::Result<()> {
        for queue in set.queues(priority) {
            declare_queue(channel, queue, self.work_queue_arguments(priority)).await?;
            channel
                .queue_bind(
                    queue.clone(),
                    self.delay_deliver.clone(),
                    short(&exit_pattern(queue.as_str())),
                    QueueBindOptions::default(),
                    FieldTable::default(),
                )
                .await?;
        }
        Ok(())
    }

    /// Where level `level` sends messages on: the level below, or the deliver exchange.
    fn next_exchange(&self, level: u32) -> &ShortString {
        match level.checked_sub(1) {
            Some(below) => &self.delay_levels[below as usize],
            None => &self.delay_deliver,
        }
    }

    /// The arguments of a work queue. Classic: the seed's `x-queue-mode` (`default` for high,
    /// `lazy` for low). Quorum: `x-delivery-limit = max_deliveries` (the broker's poison guard,
    /// behind cogman's own check, see `queue::screen`) and dead-lettering to the dead-letter
    /// queue, at least once.
    pub(crate) fn work_queue_arguments(&self, priority: Priority) -> FieldTable {
        match self.queue_type {
            QueueType::Classic => match priority {
                Priority::High => queue_mode("default"),
                Priority::Low => queue_mode("lazy"),
            },
            QueueType::Quorum => {
                let mut args = quorum_dead_lettering();
                args.insert(
                    "x-delivery-limit".into(),
                    AMQPValue::LongLongInt(i64::from(self.max_deliveries)),
                );
                args.insert(
                    "x-dead-letter-exchange".into(),
                    AMQPValue::LongString(LongString::from("")),
                );
                args.insert(
                    "x-dead-letter-routing-key".into(),
                    AMQPValue::LongString(LongString::from(self.dead_letter.as_str())),
                );
                args
            }
        }
    }
}

/// `x-queue-type: quorum`.
fn quorum() -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-type".into(),
        AMQPValue::LongString(LongString::from(QueueType::Quorum.as_str())),
    );
    args
}

/// A quorum queue whose dead-lettering is at least once (RabbitMQ's default for quorum
/// queues is at most once; at-least-once needs `x-overflow: reject-publish`, and cogman sets
/// no length limit, so nothing is ever rejected for it).
fn quorum_dead_lettering() -> FieldTable {
    let mut args = quorum();
    for (key, value) in [
        ("x-dead-letter-strategy", "at-least-once"),
        ("x-overflow", "reject-publish"),
    ] {
        args.insert(key.into(), AMQPValue::LongString(LongString::from(value)));
    }
    args
}

fn queue_mode(mode: &str) -> FieldTable {
    let mut args = FieldTable::default();
    args.insert(
        "x-queue-mode".into(),
        AMQPValue::LongString(LongString::from(mode)),
    );
    args
}

async fn declare_queue(
    channel: &Channel,
    queue: &ShortString,
    args: FieldTable,
) -> lapin::Result<()> {
    channel
        .queue_declare(queue.clone(), QueueDeclareOptions::durable(), args)
        .await
        .map(|_| ())
}

/// A short string from a name the topology built (always under 255 bytes).
pub(crate) fn short(text: &str) -> ShortString {
    ShortString::try_new(text).expect("invariant: names are short, checked by AmqpConfig::validate")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_seeds_and_prefixed() {
        let mut config = AmqpConfig::new("amqp://localhost");
        config.queue_prefix = "t1.".into();
        config.high_queue_count = 2;
        let topology = Topology::new(&config).expect("valid config");
        let names: Vec<&str> = topology.work_queues().map(|(_, q)| q.as_str()).collect();
        assert_eq!(
            names,
            [
                "t1.high_priority_queue_0",
                "t1.high_priority_queue_1",
                "t1.low_priority_queue_0"
            ]
        );
        assert_eq!(
            topology.dead_letter_queue().as_str(),
            "t1.cogman_dead_letter"
        );
        assert_eq!(
            topology.delay_entry_exchange().as_str(),
            "t1.cogman_delay_22"
        );
        assert_eq!(
            topology.default_set().queue_at(Priority::High, 3).as_str(),
            "t1.high_priority_queue_1"
        );
    }

    #[test]
    fn named_queues_have_their_own_sets_and_default_keeps_the_seeds() {
        let mut config = AmqpConfig::new("amqp://localhost");
        config.queue_prefix = "t1.".into();
        config.low_queue_count = 2;
        let topology = Topology::new(&config).expect("valid config");
        assert_eq!(
            &topology.set("default").expect("default"),
            topology.default_set()
        );
        let images = topology.set("img.resize").expect("a valid name");
        let names: Vec<&str> = images.work_queues().map(|(_, q)| q.as_str()).collect();
        assert_eq!(
            names,
            [
                "t1.img.resize.high_priority_queue_0",
                "t1.img.resize.low_priority_queue_0",
                "t1.img.resize.low_priority_queue_1"
            ]
        );
        assert!(topology.set("a b").is_err(), "an invalid name");
        config.queue_prefix = "p".repeat(150);
        let long = Topology::new(&config).expect("valid config");
        assert!(long.set("short").is_ok());
        assert!(
            matches!(long.set(&"q".repeat(64)), Err(BrokerError::Malformed(_))),
            "too long with this prefix"
        );
    }

    #[test]
    fn the_delay_exit_pattern_is_anchored() {
        let pattern = exit_pattern("high_priority_queue_0");
        assert_eq!(pattern.matches("*.").count(), DELAY_LEVELS as usize);
        assert!(pattern.ends_with(".high_priority_queue_0"));
        assert!(!pattern.contains('#'));
    }
}
