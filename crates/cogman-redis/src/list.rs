//! [`TaskLog::list`](cogman_core::TaskLog::list) for Redis: picks the most selective index for
//! the filter (original task, primary key, name, the status sets, or all tasks), merges the
//! status sets when several states are asked for (and, for an original task, its retries' index
//! with the original itself, which is in no index of its own), reads the records of each batch of ids in
//! one pipeline, checks each against the whole filter, and drops index entries whose record
//! has expired (lazy cleanup). Order: newest first by creation time, ties by id; the cursor is
//! the id of the last task returned. `oldest` reads the same indexes the other way.

use std::collections::{HashSet, VecDeque};

use cogman_core::{Cursor, Page, PageRequest, Task, TaskFilter, TaskId, TaskLogError, TaskState};

use crate::index::{self, Entry, Position};
use crate::namespace::Namespace;
use crate::record;

/// Which way the indexes are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Newest first, from a position (listing).
    NewestFirst,
    /// Oldest first, by offset (`oldest`).
    OldestFirst,
}

/// Where the next read of a source starts.
enum Next {
    /// Newest first, after this position.
    Before(Position),
    /// Oldest first, after this many entries.
    Offset(usize),
}

/// One index being read, with what has been fetched and not yet consumed.
struct Source {
    key: String,
    buffer: VecDeque<Entry>,
    next: Next,
    exhausted: bool,
}

/// A candidate id and the index it came from.
struct Candidate {
    id: String,
    source: usize,
}

pub(crate) async fn list(
    ns: &Namespace,
    filter: &TaskFilter,
    page: PageRequest,
) -> Result<Page, TaskLogError> {
    filter.validate()?;
    let limit = page.limit.clamp(1, PageRequest::MAX_LIMIT) as usize;
    let start = start_position(ns, filter, page.after).await?;
    let mut found = read(
        ns,
        filter,
        Order::NewestFirst,
        Next::Before(start),
        limit + 1,
    )
    .await?;
    let next = if found.len() > limit {
        found.truncate(limit);
        found.last().map(|task| Cursor(task.id))
    } else {
        None
    };
    Ok(Page { items: found, next })
}

pub(crate) async fn oldest(
    ns: &Namespace,
    filter: &TaskFilter,
    limit: u32,
) -> Result<Vec<Task>, TaskLogError> {
    filter.validate()?;
    let limit = limit.clamp(1, PageRequest::MAX_LIMIT) as usize;
    read(ns, filter, Order::OldestFirst, Next::Offset(0), limit).await
}

/// Up to `want` tasks matching `filter`, in `order`, every source starting at `start`.
async fn read(
    ns: &Namespace,
    filter: &TaskFilter,
    order: Order,
    start: Next,
    want: usize,
) -> Result<Vec<Task>, TaskLogError> {
    let (keys, covered) = sources_for(ns, filter);
    let batch = if covered && filter.created_from.is_none() && filter.created_to.is_none() {
        want
    } else {
        want.max(100)
    };
    let mut sources: Vec<Source> = keys
        .into_iter()
        .map(|key| Source {
            key,
            buffer: VecDeque::new(),
            next: match &start {
                Next::Before(position) => Next::Before(position.clone()),
                Next::Offset(n) => Next::Offset(*n),
            },
            exhausted: false,
        })
        .collect();
    if let Some(original) = filter.original_task_id {
        sources.push(original_itself(ns, original, &start).await?);
    }
    let cleanup = order == Order::NewestFirst;
    let mut seen = HashSet::new();
    let mut found: Vec<Task> = Vec::new();
    let mut candidates = Vec::new();
    while found.len() < want {
        for source in sources
            .iter_mut()
            .filter(|s| s.buffer.is_empty() && !s.exhausted)
        {
            refill(ns, filter, source, batch).await?;
        }
        let heads = sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.buffer.front().map(|head| (head, i)));
        let best = match order {
            Order::NewestFirst => heads.max_by(|a, b| a.0.cmp(b.0)),
            Order::OldestFirst => heads.min_by(|a, b| a.0.cmp(b.0)),
        };
        let Some((_, best)) = best else { break };
        let (_, id) = sources[best]
            .buffer
            .pop_front()
            .expect("invariant: the chosen source has a head");
        if seen.insert(id.clone()) {
            candidates.push(Candidate { id, source: best });
        }
        if candidates.len() >= batch {
            let drained = std::mem::take(&mut candidates);
            found.extend(load_matching(ns, filter, &sources, drained, cleanup).await?);
        }
    }
    if found.len() < want && !candidates.is_empty() {
        found.extend(load_matching(ns, filter, &sources, candidates, cleanup).await?);
    }
    found.truncate(want);
    Ok(found)
}

/// Reads the next `batch` entries of `source` within the filter's creation-time range.
async fn refill(
    ns: &Namespace,
    filter: &TaskFilter,
    source: &mut Source,
    batch: usize,
) -> Result<(), TaskLogError> {
    let min = filter.created_from.map(record::score);
    let entries = match &source.next {
        Next::Before(position) => index::page(ns, &source.key, position, min, batch).await?,
        Next::Offset(offset) => {
            let max = filter.created_to.map(record::score);
            index::ascending(ns, &source.key, min, max, *offset, batch).await?
        }
    };
    source.exhausted = entries.len() < batch;
    source.next = match &source.next {
        Next::Before(position) => Next::Before(
            entries
                .last()
                .map_or_else(|| position.clone(), index::after),
        ),
        Next::Offset(offset) => Next::Offset(offset + entries.len()),
    };
    source.buffer.extend(entries);
    Ok(())
}

/// A source holding only the original task `id` (a first attempt is in no original-task index,
/// its retries are), if it is read from `start` on.
async fn original_itself(ns: &Namespace, id: TaskId, start: &Next) -> Result<Source, TaskLogError> {
    let key = ns.keys.all();
    let member = id.to_string();
    let score = zscore(ns, &key, &member).await?;
    let entry = score.map(|score| (score, member));
    let admitted = entry.filter(|entry| match start {
        Next::Before(position) => position.admits(entry),
        Next::Offset(skip) => *skip == 0,
    });
    Ok(Source {
        key,
        buffer: admitted.into_iter().collect(),
        next: Next::Offset(0),
        exhausted: true,
    })
}

/// The score of `member` in the index `key`, if it is there.
async fn zscore(ns: &Namespace, key: &str, member: &str) -> Result<Option<i64>, TaskLogError> {
    let stored: Option<f64> = ns
        .conn
        .run("zscore", |mut con| async move {
            redis::cmd("ZSCORE")
                .arg(key)
                .arg(member)
                .query_async(&mut con)
                .await
        })
        .await?;
    // Scores are whole microseconds, well inside the exact range of a double.
    Ok(stored.map(|score| score as i64))
}

/// The index keys to read for `filter`, and whether they alone decide the non-time criteria
/// (for an original task, [`original_itself`] is read too).
fn sources_for(ns: &Namespace, filter: &TaskFilter) -> (Vec<String>, bool) {
    let keys = &ns.keys;
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
    ns: &Namespace,
    filter: &TaskFilter,
    after: Option<Cursor>,
) -> Result<Position, TaskLogError> {
    let ceiling = filter.created_to.map_or(i64::MAX, record::score);
    let Some(Cursor(cursor)) = after else {
        return Ok(Position::AtOrBelow(ceiling));
    };
    let member = cursor.to_string();
    let score = zscore(ns, &ns.keys.all(), &member)
        .await?
        .unwrap_or_else(|| id_time_score(cursor));
    Ok(if score > ceiling {
        Position::AtOrBelow(ceiling)
    } else {
        Position::After { score, id: member }
    })
}

/// The last microsecond of the millisecond a UUID v7 was made in (for a cursor whose task is
/// gone from the index).
fn id_time_score(id: TaskId) -> i64 {
    id.as_uuid().get_timestamp().map_or(i64::MAX, |ts| {
        let (secs, nanos) = ts.to_unix();
        i64::try_from(secs)
            .unwrap_or(i64::MAX / 1_000_000)
            .saturating_mul(1_000_000)
            .saturating_add(i64::from(nanos / 1000) / 1000 * 1000 + 999)
    })
}

/// Reads the records of `candidates` (in order) in one pipeline; returns those matching the
/// filter. With `cleanup`, removes the index entries whose record is gone (not while reading
/// by offset, which removals would shift).
async fn load_matching(
    ns: &Namespace,
    filter: &TaskFilter,
    sources: &[Source],
    candidates: Vec<Candidate>,
    cleanup: bool,
) -> Result<Vec<Task>, TaskLogError> {
    let keys = &ns.keys;
    let ids: Vec<TaskId> = candidates
        .iter()
        .map(|c| {
            c.id.parse::<TaskId>()
                .map_err(|e| TaskLogError::Other(format!("index holds a bad id: {e}").into()))
        })
        .collect::<Result<_, _>>()?;
    let records: Vec<Vec<Option<Vec<u8>>>> = ns
        .conn
        .run("list", |mut con| {
            let mut pipe = redis::pipe();
            for id in &ids {
                pipe.add_command(record::read_command(&keys.task(*id)));
            }
            async move { pipe.query_async(&mut con).await }
        })
        .await?;
    let mut found = Vec::new();
    let mut gone = Vec::new();
    for ((candidate, id), values) in candidates.iter().zip(&ids).zip(records) {
        match record::parse_task(*id, record::stored_fields(values))? {
            Some(task) if filter.matches(&task) => found.push(task),
            Some(_) => {}
            None => gone.push((candidate, *id)),
        }
    }
    if cleanup && !gone.is_empty() {
        let mut pipe = redis::pipe();
        for (candidate, id) in &gone {
            pipe.cmd("ZREM")
                .arg(&sources[candidate.source].key)
                .arg(&candidate.id)
                .ignore();
            pipe.cmd("ZREM")
                .arg(keys.all())
                .arg(id.to_string())
                .ignore();
            for state in TaskState::ALL {
                pipe.cmd("ZREM")
                    .arg(keys.status(state))
                    .arg(id.to_string())
                    .ignore();
            }
        }
        ns.conn
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
