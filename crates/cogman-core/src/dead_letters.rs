//! The [`DeadLetterStore`] ability of a task log: the messages a broker moved aside because
//! they can never run (malformed, poison, refused by a worker), kept with their reason so
//! operators can list, requeue and purge them the same way on every backend. The log is the
//! source of truth: brokers that keep dead letters elsewhere (RabbitMQ's dead-letter queue)
//! have them collected into it.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::task::{Task, TaskId};
use crate::task_log::TaskLogError;

/// Most bytes of a dead message's body kept with its entry (the rest is cut off; see
/// [`NewDeadLetter::bounded`]).
pub const MAX_DEAD_LETTER_BODY: usize = 64 * 1024;
/// Most headers kept with an entry, and most bytes of each header's text.
pub const MAX_DEAD_LETTER_HEADERS: usize = 64;
/// Most bytes of one header value (as text) or of the reason.
pub const MAX_DEAD_LETTER_TEXT: usize = 4 * 1024;

/// A dead letter to store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewDeadLetter {
    /// Makes storing idempotent: a second entry with the same key is not stored again (for
    /// example the message id and dead-letter time of a RabbitMQ message collected twice).
    pub key: Option<String>,
    /// The task's id, when the message carried a readable one.
    pub task_id: Option<TaskId>,
    /// The task, when the whole message could be decoded (then it can be requeued).
    pub task: Option<Task>,
    /// The task name, when readable (also when the rest of the message is not).
    pub name: Option<String>,
    /// The queue the message was taken from, when known.
    pub queue: Option<String>,
    /// Why it was dead-lettered.
    pub reason: String,
    /// When it was dead-lettered.
    pub dead_lettered_at: DateTime<Utc>,
    /// The message's headers as text (bounded).
    pub headers: BTreeMap<String, String>,
    /// The message's body (bounded to [`MAX_DEAD_LETTER_BODY`] bytes).
    #[serde(with = "crate::task::base64_bytes")]
    pub body: Vec<u8>,
}

impl NewDeadLetter {
    /// The entry with its body, headers and texts cut to the documented bounds.
    #[must_use]
    pub fn bounded(mut self) -> Self {
        self.body.truncate(MAX_DEAD_LETTER_BODY);
        self.reason = cut(&self.reason, MAX_DEAD_LETTER_TEXT);
        self.name = self.name.map(|n| cut(&n, MAX_DEAD_LETTER_TEXT));
        self.queue = self.queue.map(|q| cut(&q, MAX_DEAD_LETTER_TEXT));
        self.key = self.key.map(|k| cut(&k, MAX_DEAD_LETTER_TEXT));
        self.headers = std::mem::take(&mut self.headers)
            .into_iter()
            .take(MAX_DEAD_LETTER_HEADERS)
            .map(|(k, v)| (cut(&k, MAX_DEAD_LETTER_TEXT), cut(&v, MAX_DEAD_LETTER_TEXT)))
            .collect();
        self
    }

    /// An entry for a decoded task, everything taken from it.
    pub fn for_task(task: &Task, queue: Option<String>, reason: impl Into<String>) -> Self {
        NewDeadLetter {
            key: None,
            task_id: Some(task.id),
            task: Some(task.clone()),
            name: Some(task.name.clone()),
            queue,
            reason: reason.into(),
            dead_lettered_at: Utc::now(),
            headers: BTreeMap::new(),
            body: task.payload.clone(),
        }
    }
}

/// `text` cut to at most `max` bytes, at a character boundary.
fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// A stored dead letter: what was stored, with the id the store gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Assigned by the store; larger ids were stored later.
    pub id: u64,
    /// What was stored.
    #[serde(flatten)]
    pub entry: NewDeadLetter,
}

/// A page of dead letters, newest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeadLetterPage {
    /// The entries.
    pub items: Vec<DeadLetter>,
    /// Pass as `before` for the next page; `None` on the last page.
    pub next_before: Option<u64>,
}

/// Stores dead letters (optional ability of a task log).
#[async_trait]
pub trait DeadLetterStore: Send + Sync {
    /// Stores `entry` (bounded by the caller with [`NewDeadLetter::bounded`]) and returns its
    /// id. When an entry with the same `key` is already stored, returns that entry's id and
    /// stores nothing.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn add_dead_letter(&self, entry: &NewDeadLetter) -> Result<u64, TaskLogError>;

    /// Up to `limit` entries with an id below `before` (all when `None`), newest first.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn dead_letters(
        &self,
        before: Option<u64>,
        limit: u32,
    ) -> Result<DeadLetterPage, TaskLogError>;

    /// One entry by id.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn dead_letter(&self, id: u64) -> Result<Option<DeadLetter>, TaskLogError>;

    /// Removes one entry; `false` when there was none.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn remove_dead_letter(&self, id: u64) -> Result<bool, TaskLogError>;

    /// Removes every entry; returns how many there were.
    ///
    /// # Errors
    /// [`TaskLogError::Unavailable`] when the store cannot be reached.
    async fn purge_dead_letters(&self) -> Result<u64, TaskLogError>;
}

/// The page that `limit` entries `found` (newest first, `limit + 1` asked for) make.
pub fn page_of(mut found: Vec<DeadLetter>, limit: u32) -> DeadLetterPage {
    let limit = limit as usize;
    let more = found.len() > limit;
    found.truncate(limit);
    let next_before = if more {
        found.last().map(|d| d.id)
    } else {
        None
    };
    DeadLetterPage {
        items: found,
        next_before,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_cuts_at_character_boundaries() {
        let entry = NewDeadLetter {
            key: None,
            task_id: None,
            task: None,
            name: None,
            queue: None,
            reason: "é".repeat(MAX_DEAD_LETTER_TEXT),
            dead_lettered_at: Utc::now(),
            headers: (0..100).map(|i| (format!("h{i:03}"), "v".into())).collect(),
            body: vec![7; MAX_DEAD_LETTER_BODY + 10],
        }
        .bounded();
        assert_eq!(entry.body.len(), MAX_DEAD_LETTER_BODY);
        assert_eq!(entry.reason.len(), MAX_DEAD_LETTER_TEXT);
        assert_eq!(entry.headers.len(), MAX_DEAD_LETTER_HEADERS);
    }
}
