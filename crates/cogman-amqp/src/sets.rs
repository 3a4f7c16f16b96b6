//! [`NamedSets`]: the queue sets of named queues this broker handle has declared (on its first
//! publish to a named queue, or before consuming it), so each is declared once per process and
//! declared again with the rest of the topology when a publish comes back unroutable.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use lapin::Channel;

use cogman_core::BrokerError;

use crate::topology::{QueueSet, Topology};

/// Declared named-queue sets, by name; shared by the clones of a broker.
#[derive(Debug)]
pub(crate) struct NamedSets {
    topology: Arc<Topology>,
    declared: Mutex<HashMap<String, Arc<QueueSet>>>,
}

impl NamedSets {
    pub(crate) fn new(topology: Arc<Topology>) -> Self {
        let default = Arc::new(topology.default_set().clone());
        let declared = HashMap::from([(default.name().to_owned(), default)]);
        NamedSets {
            topology,
            declared: Mutex::new(declared),
        }
    }

    /// The set of `queue` when it was declared already.
    pub(crate) fn known(&self, queue: &str) -> Option<Arc<QueueSet>> {
        self.lock().get(queue).cloned()
    }

    /// The set of `queue`, without declaring it.
    ///
    /// # Errors
    /// [`BrokerError::Malformed`] for a name the topology refuses.
    pub(crate) fn named(&self, queue: &str) -> Result<Arc<QueueSet>, BrokerError> {
        match self.known(queue) {
            Some(set) => Ok(set),
            None => Ok(Arc::new(self.topology.set(queue)?)),
        }
    }

    /// Remembers `set` as declared.
    pub(crate) fn remember(&self, set: &Arc<QueueSet>) {
        self.lock()
            .entry(set.name().to_owned())
            .or_insert_with(|| Arc::clone(set));
    }

    /// Every declared set, `default` among them, sorted by name.
    pub(crate) fn all(&self) -> Vec<Arc<QueueSet>> {
        let mut sets: Vec<Arc<QueueSet>> = self.lock().values().cloned().collect();
        sets.sort_by(|a, b| a.name().cmp(b.name()));
        sets
    }

    /// Declares every remembered set again on `channel` (after the topology was declared).
    pub(crate) async fn redeclare(&self, channel: &Channel) -> lapin::Result<()> {
        for set in self.all() {
            self.topology.declare_set(channel, &set).await?;
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<QueueSet>>> {
        self.declared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
