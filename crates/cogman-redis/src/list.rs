//! [`TaskLog::list`](cogman_core::TaskLog::list) for Redis: picks the most selective index for
//! the filter (original task, primary key, name, the status sets, or all tasks), merges the
//! status sets when several states are asked for, reads the records of each batch of ids in
//! one pipeline, checks each against the whole filter, and drops index entries whose record
//! has expired (lazy cleanup). Order: newest first by creation time, ties by id; the cursor is
//! the id of the last task returned.

use std::collections::{HashMap, HashSet, VecDeque};

use cogman_core::{Cursor, Page, PageRequest, Task, TaskFilter, TaskId, TaskLogError, TaskState};

use crate::index::{self, Entry, Position};
use crate::log::RedisLog;
use crate::record;

/// One index being read, with what has been fetched and not yet consumed.
struct Source {
    key: String,
    buffer: VecDeque<Entry>,
    next: Position,
    exhausted: bool,
}

/// A candidate id and the index it came from.
struct Candidate {
    id: String,
    source: usize,
}

pub(crate) async fn list(
    log: &RedisLog,
    filter: &TaskFilter,
    page: PageRequest,
) -> Result<Page, TaskLogError> {
    let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT) as usize;
    let (keys, covered) = sources_for(log, filter);
    let min = filter.created_from.map(record::score);
    let start = start_position(log, filter, page.after).await?;
    let batch = if covered && filter.created_from.is_none() && filter.created_to.is_none() {
        limit + 1
    } else {
        (limit + 1).max(100)
    };
    let mut sources: Vec<Source> = keys
        .into_iter()
        .map(|key| Source {
            key,
            buffer: VecDeque::new(),
            next: start.clone(),
            exhausted: false,
        })
        .collect();
    let mut seen = HashSet::new();
    let mut found: Vec<Task> = Vec::new();
    let mut candidates = Vec::new();
    while found.len() <= limit {
        for source in sources.iter_mut().filter(|s| s.buffer.is_empty() && !s.exhausted) {
            let entries = index::page(log, &source.key, &source.next, min, batch).await?;
            source.exhausted = entries.len() < batch;
            if let Some(last) = entries.last() {
                source.next = index::after(last);
            }
            source.buffer.extend(entries);
        }
        let best = sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.buffer.front().map(|head| (head, i)))
            .max_by(|a, b| a.0.cmp(b.0))
            .map(|(_, i)| i);
        let Some(best) = best else { break };
        let (_, id) = sources[best]
            .buffer
            .pop_front()
            .expect("invariant: the chosen source has a head");
        if seen.insert(id.clone()) {
            candidates.push(Candidate { id, source: best });
        }
        if candidates.len() >= batch {
            let drained = std::mem::take(&mut candidates);
            found.extend(load_matching(log, filter, &sources, drained).await?);
        }
    }
    if found.len() <= limit && !candidates.is_empty() {
        found.extend(load_matching(log, filter, &sources, candidates).await?);
    }
    let next = if found.len() > limit {
        found.truncate(limit);
        found.last().map(|task| Cursor(task.id))
    } else {
        None
    };
    Ok(Page { items: found, next })
}

/// The index keys to read for `filter`, and whether they alone decide the non-time criteria.
fn sources_for(log: &RedisLog, filter: &TaskFilter) -> (Vec<String>, bool) {
    let keys = &log.inner.keys;
    let others = |used: usize| {
        usize::from(filter.original_task_id.is_some())
            + usize::from(filter.primary_key.is_some())
            + usize::from(filter.name.is_some())
            + usize::from(!filter.statuses.is_empty())
            == used
    };
    if let Some(original) = filter.original_task_id {
        (vec![keys.original(original)], others(1))
    } else if let Some(key) = &filter.primary_key {
        (vec![keys.primary_key(key)], others(1))
    } else if let Some(name) = &filter.name {
        (vec![keys.name(name)], others(1))
    } else if !filter.statuses.is_empty() {
        let states: HashSet<TaskState> = filter.statuses.iter().copied().collect();
        (states.into_iter().map(|s| keys.status(s)).collect(), true)
    } else {
        (vec![keys.all()], true)
    }
}

/// Where the page starts: after the cursor task, and never above `created_to`.
async fn start_position(
    log: &RedisLog,
    filter: &TaskFilter,
    after: Option<Cursor>,
) -> Result<Position, TaskLogError> {
    let ceiling = filter.created_to.map_or(i64::MAX, record::score);
    let Some(Cursor(cursor)) = after else {
        return Ok(Position::AtOrBelow(ceiling));
    };
    let key = log.inner.keys.all();
    let member = cursor.to_string();
    let stored: Option<f64> = log
        .inner
        .conn
        .run("cursor", |mut con| {
            let (key, member) = (&key, &member);
            async move { redis::cmd("ZSCORE").arg(key).arg(member).query_async(&mut con).await }
        })
        .await?;
    // Scores are whole microseconds, well inside the exact range of a double.
    #[allow(clippy::cast_possible_truncation)]
    let score = stored.map_or_else(|| id_time_score(cursor), |s| s as i64);
    Ok(if score > ceiling {
        Position::AtOrBelow(ceiling)
    } else {
        Position::After { score, id: member }
    })
}

/// The last microsecond of the millisecond a UUID v7 was made in (for a cursor whose task is
/// gone from the index).
fn id_time_score(id: TaskId) -> i64 {
    id.as_uuid()
        .get_timestamp()
        .map_or(i64::MAX, |ts| {
            let (secs, nanos) = ts.to_unix();
            i64::try_from(secs)
                .unwrap_or(i64::MAX / 1_000_000)
                .saturating_mul(1_000_000)
                .saturating_add(i64::from(nanos / 1000) / 1000 * 1000 + 999)
        })
}

/// Reads the records of `candidates` (in order) in one pipeline; returns those matching the
/// filter and removes index entries whose record is gone.
async fn load_matching(
    log: &RedisLog,
    filter: &TaskFilter,
    sources: &[Source],
    candidates: Vec<Candidate>,
) -> Result<Vec<Task>, TaskLogError> {
    let keys = &log.inner.keys;
    let ids: Vec<TaskId> = candidates
        .iter()
        .map(|c| {
            c.id.parse::<TaskId>()
                .map_err(|e| TaskLogError::Other(format!("index holds a bad id: {e}").into()))
        })
        .collect::<Result<_, _>>()?;
    let hashes: Vec<HashMap<String, Vec<u8>>> = log
        .inner
        .conn
        .run("list", |mut con| {
            let mut pipe = redis::pipe();
            for id in &ids {
                pipe.cmd("HGETALL").arg(keys.task(*id));
            }
            async move { pipe.query_async(&mut con).await }
        })
        .await?;
    let mut found = Vec::new();
    let mut gone = Vec::new();
    for ((candidate, id), hash) in candidates.iter().zip(&ids).zip(hashes) {
        match record::parse_task(*id, hash)? {
            Some(task) if filter.matches(&task) => found.push(task),
            Some(_) => {}
            None => gone.push((candidate, *id)),
        }
    }
    if !gone.is_empty() {
        let mut pipe = redis::pipe();
        for (candidate, id) in &gone {
            pipe.cmd("ZREM").arg(&sources[candidate.source].key).arg(&candidate.id).ignore();
            pipe.cmd("ZREM").arg(keys.all()).arg(id.to_string()).ignore();
            for state in TaskState::ALL {
                pipe.cmd("ZREM").arg(keys.status(state)).arg(id.to_string()).ignore();
            }
        }
        log.inner
            .conn
            .run("list cleanup", |mut con| {
                let pipe = &pipe;
                async move { pipe.exec_async(&mut con).await }
            })
            .await?;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vanished_cursor_is_placed_by_its_id_time() {
        let id = TaskId::new();
        let now = chrono::Utc::now().timestamp_micros();
        let score = id_time_score(id);
        assert!((now - score).abs() < 2_000_000, "{now} vs {score}");
        assert_eq!(score % 1000, 999);
    }
}
