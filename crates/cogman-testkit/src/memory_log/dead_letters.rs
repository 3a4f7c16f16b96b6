//! The [`DeadLetterStore`] ability of [`MemoryLog`]: entries by id in a map, ids counted up,
//! a second entry with a known key answered with the first one's id.

use async_trait::async_trait;
use cogman_core::dead_letters::page_of;
use cogman_core::{DeadLetter, DeadLetterPage, DeadLetterStore, NewDeadLetter, TaskLogError};

use super::MemoryLog;

#[async_trait]
impl DeadLetterStore for MemoryLog {
    async fn add_dead_letter(&self, entry: &NewDeadLetter) -> Result<u64, TaskLogError> {
        let mut state = self.state();
        if let Some(key) = &entry.key {
            let known = state
                .dead_letters
                .values()
                .find(|d| d.entry.key.as_ref() == Some(key));
            if let Some(known) = known {
                return Ok(known.id);
            }
        }
        state.last_dead_letter += 1;
        let id = state.last_dead_letter;
        state.dead_letters.insert(
            id,
            DeadLetter {
                id,
                entry: entry.clone(),
            },
        );
        Ok(id)
    }

    async fn dead_letters(
        &self,
        before: Option<u64>,
        limit: u32,
    ) -> Result<DeadLetterPage, TaskLogError> {
        let state = self.state();
        let found = state
            .dead_letters
            .range(..before.unwrap_or(u64::MAX))
            .rev()
            .take(limit as usize + 1)
            .map(|(_, d)| d.clone())
            .collect();
        Ok(page_of(found, limit))
    }

    async fn dead_letter(&self, id: u64) -> Result<Option<DeadLetter>, TaskLogError> {
        Ok(self.state().dead_letters.get(&id).cloned())
    }

    async fn remove_dead_letter(&self, id: u64) -> Result<bool, TaskLogError> {
        Ok(self.state().dead_letters.remove(&id).is_some())
    }

    async fn purge_dead_letters(&self) -> Result<u64, TaskLogError> {
        let mut state = self.state();
        let n = state.dead_letters.len() as u64;
        state.dead_letters.clear();
        Ok(n)
    }
}
