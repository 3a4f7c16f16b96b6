//! [`amqp_cleanup`]: what a test that runs `cogman` on the shared RabbitMQ under its own queue
//! prefix removes from it when done (its work, delay and dead-letter queues, its exchanges).

use cogman_amqp::{AmqpConfig, Topology};
use cogman_testkit::servers::SharedCleanup;

use super::AMQP;

/// Removes the queues and exchanges of `prefix` on `uri` when dropped (chain more with the
/// [`SharedCleanup`] builder).
pub fn amqp_cleanup(uri: &str, prefix: &str) -> SharedCleanup {
    amqp_cleanup_with(uri, prefix, &[])
}

/// As [`amqp_cleanup`], with the work queues of the named queues `named` too.
pub fn amqp_cleanup_with(uri: &str, prefix: &str, named: &[&str]) -> SharedCleanup {
    let mut amqp = AmqpConfig::new(uri);
    amqp.queue_prefix = prefix.to_owned();
    let topology = Topology::new(&amqp).expect("valid topology");
    let sets: Vec<_> = named
        .iter()
        .map(|queue| topology.set(queue).expect("a valid queue name"))
        .collect();
    let queues = topology
        .work_queues()
        .map(|(_, q)| q.to_string())
        .chain(sets.iter().flat_map(|set| {
            set.work_queues()
                .map(|(_, q)| q.to_string())
                .collect::<Vec<_>>()
        }))
        .chain(topology.delay_levels().iter().map(ToString::to_string))
        .chain([topology.dead_letter_queue().to_string()]);
    let exchanges = topology
        .delay_levels()
        .iter()
        .chain([topology.delay_deliver_exchange()])
        .map(ToString::to_string);
    SharedCleanup::new().amqp(uri, queues, exchanges)
}

/// A queue prefix of its own on the shared RabbitMQ for a test labelled `label`: the prefix,
/// the variables that point `cogman` at it, and the cleanup of its queues.
pub fn amqp_vars(label: &str) -> (String, Vec<(&'static str, String)>, SharedCleanup) {
    let id = cogman::TaskId::new().as_uuid().simple().to_string();
    let prefix = format!("{label}_{}.", &id[id.len() - 12..]);
    let vars = vec![
        ("COGMAN_AMQP_URI", AMQP.to_owned()),
        ("COGMAN_AMQP_QUEUE_PREFIX", prefix.clone()),
    ];
    let cleanup = amqp_cleanup(AMQP, &prefix);
    (prefix, vars, cleanup)
}
