//! Key names. Every key starts with the namespace, so a log never touches another's data and
//! a namespace can be listed or deleted with `SCAN MATCH {ns}:*`:
//!
//! | key | type | holds |
//! | --- | --- | --- |
//! | `{ns}:task:{id}` | hash | the task record and its history (TTL; see `record`) |
//! | `{ns}:idx:all` | zset | every task id, scored by `created_at` in microseconds |
//! | `{ns}:idx:status:{state}` | zset | ids of tasks currently in that state |
//! | `{ns}:idx:name:{name}` | zset | ids of tasks with that name |
//! | `{ns}:idx:pk:{primary_key}` | zset | ids of tasks with that primary key |
//! | `{ns}:idx:original:{id}` | zset | ids of the retries of that original task (the original itself is found by its id) |
//! | `{ns}:attempt:{original}:{n}` | string | the id of the record that holds attempt `n` of that chain (set if absent, the record's TTL; retries only; purged with the record) |
//! | `{ns}:unique:{key}` | string | the id of the task holding the unique key (see `unique`) |
//! | `{ns}:schedules` | zset | every schedule id, score 0 (so read in id order) |
//! | `{ns}:schedule:{id}` | hash | a schedule: `definition` (JSON), `paused`, `since`, `last_slot`, `last_at` (ms), `last_task` (see `schedules`) |
//! | `{ns}:schedule_slots:{id}` | zset | the schedule's claimed slots (ms), the last 7 days of them |
//! | `{ns}:lease:{name}` | string | the lease's holder, expiring with the lease (`PX`) |
//! | `{ns}:workers` | hash | worker id → heartbeat JSON |
//! | `{ns}:workers:seen` | zset | worker id, scored by last heartbeat (ms) |
//! | `{ns}:dead_letters` | hash | dead-letter id → entry JSON |
//! | `{ns}:dead_letters:ids` | zset | dead-letter ids, scored by themselves |
//! | `{ns}:dead_letters:keys` | hash | an entry's idempotency key → its id |
//! | `{ns}:dead_letters:seq` | string | the last dead-letter id given |
//! | `{ns}:paused_queues` | hash | paused named queue → when it was paused (RFC 3339); no TTL |
//! | `{ns}:limits` | hash | task name → its rate and concurrency limit (JSON); no TTL |
//! | `{ns}:limit:tat:{bucket}` | string | a limit bucket's rate state (µs; see `limits`) |
//! | `{ns}:limit:leases:{bucket}` | zset | holders running in a bucket, scored by lease expiry (µs) |
//! | `{ns}:limit:reserved:{bucket}` | hash | holder → its reserved start (µs) |

use cogman_core::{TaskId, TaskState};

/// Builds the key names of one namespace.
#[derive(Debug, Clone)]
pub(crate) struct Keys {
    ns: String,
}

impl Keys {
    pub(crate) fn new(namespace: &str) -> Self {
        Keys {
            ns: namespace.to_owned(),
        }
    }

    /// What task hash keys start with (the id follows); the scripts append ids to it.
    pub(crate) fn task_prefix(&self) -> String {
        format!("{}:task:", self.ns)
    }

    pub(crate) fn task(&self, id: TaskId) -> String {
        format!("{}{id}", self.task_prefix())
    }

    /// The prefix the Lua scripts append index names to (`status:{state}`, `name:{name}`...).
    pub(crate) fn index_prefix(&self) -> String {
        format!("{}:idx:", self.ns)
    }

    pub(crate) fn all(&self) -> String {
        format!("{}:idx:all", self.ns)
    }

    pub(crate) fn status(&self, state: TaskState) -> String {
        format!("{}:idx:status:{}", self.ns, state.as_str())
    }

    pub(crate) fn name(&self, name: &str) -> String {
        format!("{}:idx:name:{name}", self.ns)
    }

    pub(crate) fn primary_key(&self, key: &str) -> String {
        format!("{}:idx:pk:{key}", self.ns)
    }

    pub(crate) fn original(&self, id: TaskId) -> String {
        format!("{}:idx:original:{id}", self.ns)
    }

    /// What attempt claim keys start with (`{original}:{n}` follows; the purge script
    /// appends them).
    pub(crate) fn attempt_prefix(&self) -> String {
        format!("{}:attempt:", self.ns)
    }

    /// Who holds attempt `attempt` of the chain `original` ([`crate::attempts`]).
    pub(crate) fn attempt(&self, original: TaskId, attempt: u32) -> String {
        format!("{}{original}:{attempt}", self.attempt_prefix())
    }

    pub(crate) fn unique(&self, key: &str) -> String {
        format!("{}:unique:{key}", self.ns)
    }

    pub(crate) fn limits(&self) -> String {
        format!("{}:limits", self.ns)
    }

    /// The rate state, leases and reservations of a limit bucket.
    pub(crate) fn limit_bucket(&self, bucket: &str) -> [String; 3] {
        ["tat", "leases", "reserved"].map(|part| format!("{}:limit:{part}:{bucket}", self.ns))
    }

    pub(crate) fn paused_queues(&self) -> String {
        format!("{}:paused_queues", self.ns)
    }

    /// Every schedule id.
    pub(crate) fn schedules(&self) -> String {
        format!("{}:schedules", self.ns)
    }

    pub(crate) fn schedule(&self, id: &str) -> String {
        format!("{}:schedule:{id}", self.ns)
    }

    /// The claimed slots of schedule `id`.
    pub(crate) fn schedule_slots(&self, id: &str) -> String {
        format!("{}:schedule_slots:{id}", self.ns)
    }

    pub(crate) fn lease(&self, name: &str) -> String {
        format!("{}:lease:{name}", self.ns)
    }

    pub(crate) fn workers(&self) -> String {
        format!("{}:workers", self.ns)
    }

    pub(crate) fn workers_seen(&self) -> String {
        format!("{}:workers:seen", self.ns)
    }

    /// The dead-letter keys: entries, ids, idempotency keys, last id.
    pub(crate) fn dead_letters(&self) -> [String; 4] {
        let base = format!("{}:dead_letters", self.ns);
        [
            base.clone(),
            format!("{base}:ids"),
            format!("{base}:keys"),
            format!("{base}:seq"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_namespaced() {
        let keys = Keys::new("ns1");
        let id = TaskId::new();
        for key in [
            keys.task(id),
            keys.all(),
            keys.status(TaskState::Queued),
            keys.name("n"),
            keys.primary_key("k"),
            keys.original(id),
            keys.workers(),
            keys.workers_seen(),
            keys.schedules(),
            keys.schedule("s"),
            keys.schedule_slots("s"),
            keys.lease("scheduler"),
        ] {
            assert!(key.starts_with("ns1:"), "{key}");
        }
        assert!(keys.index_prefix().starts_with("ns1:idx:"));
        assert_eq!(keys.task(id), format!("{}{id}", keys.task_prefix()));
        assert_eq!(
            keys.status(TaskState::InProgress),
            "ns1:idx:status:in_progress"
        );
    }
}
