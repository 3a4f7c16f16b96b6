//! [`TaskLog::counts`](cogman_core::TaskLog::counts) for Redis, from the per-state index sets
//! (scored by creation time in microseconds) without reading any record: one `ZCOUNT` per
//! state over the whole range, then, for states that have tasks there, one `ZCOUNT` per bucket
//! between the first and the last of them, all pipelined. Nothing blocks the server for long.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use cogman_core::{BucketCount, CountQuery, StatusCounts, TaskLogError, TaskState};

use crate::namespace::Namespace;
use crate::record;

/// An index entry with its score.
type Scored = (String, f64);

/// Commands per pipeline.
const CHUNK: usize = 1000;

pub(crate) async fn counts(
    ns: &Namespace,
    query: &CountQuery,
) -> Result<Vec<BucketCount>, TaskLogError> {
    query.validate()?;
    let (from, to) = (record::score(query.from), record::score(query.to));
    let (min, max) = (from.to_string(), format!("({to}"));
    let totals: Vec<u64> = zcounts(
        ns,
        TaskState::ALL
            .iter()
            .map(|s| (ns.keys.status(*s), min.clone(), max.clone()))
            .collect(),
    )
    .await?;
    let present: Vec<(TaskState, u64)> = TaskState::ALL
        .into_iter()
        .zip(totals)
        .filter(|(_, n)| *n > 0)
        .collect();
    let Some(bucket) = query.bucket else {
        if present.is_empty() {
            return Ok(Vec::new());
        }
        let mut counts = StatusCounts::default();
        for (state, n) in present {
            counts.add(state, n);
        }
        return Ok(vec![BucketCount {
            start: query.from,
            counts,
        }]);
    };
    let width = i64::try_from(bucket.as_micros()).unwrap_or(i64::MAX).max(1);
    let mut buckets: BTreeMap<i64, StatusCounts> = BTreeMap::new();
    for (state, _) in present {
        let key = ns.keys.status(state);
        let (first, last) = span(ns, &key, &min, &max).await?;
        let (first, last) = ((first - from) / width, (last - from) / width);
        let ranges: Vec<(String, String, String)> = (first..=last)
            .map(|i| {
                let low = from.saturating_add(i.saturating_mul(width));
                let high = low.saturating_add(width).min(to);
                (key.clone(), low.to_string(), format!("({high}"))
            })
            .collect();
        let counted = zcounts(ns, ranges).await?;
        for (i, n) in (first..=last).zip(counted).filter(|(_, n)| *n > 0) {
            buckets.entry(i).or_default().add(state, n);
        }
    }
    Ok(buckets
        .into_iter()
        .map(|(i, counts)| BucketCount {
            start: offset(query.from, i.saturating_mul(width)),
            counts,
        })
        .collect())
}

/// `ZCOUNT key min max` for each entry, pipelined in chunks.
async fn zcounts(
    ns: &Namespace,
    ranges: Vec<(String, String, String)>,
) -> Result<Vec<u64>, TaskLogError> {
    let mut out = Vec::with_capacity(ranges.len());
    for chunk in ranges.chunks(CHUNK) {
        let counted: Vec<u64> = ns
            .conn
            .run("counts", |mut con| {
                let mut pipe = redis::pipe();
                for (key, min, max) in chunk {
                    pipe.cmd("ZCOUNT").arg(key).arg(min).arg(max);
                }
                async move { pipe.query_async(&mut con).await }
            })
            .await?;
        out.extend(counted);
    }
    Ok(out)
}

/// The lowest and highest score of `key` within `[min, max)`.
async fn span(ns: &Namespace, key: &str, min: &str, max: &str) -> Result<(i64, i64), TaskLogError> {
    let (low, high): (Vec<Scored>, Vec<Scored>) = ns
        .conn
        .run("counts span", |mut con| {
            let mut pipe = redis::pipe();
            pipe.cmd("ZRANGEBYSCORE")
                .arg(key)
                .arg(min)
                .arg(max)
                .arg("WITHSCORES")
                .arg("LIMIT")
                .arg(0)
                .arg(1);
            pipe.cmd("ZREVRANGEBYSCORE")
                .arg(key)
                .arg(max)
                .arg(min)
                .arg("WITHSCORES")
                .arg("LIMIT")
                .arg(0)
                .arg(1);
            async move { pipe.query_async(&mut con).await }
        })
        .await?;
    // Scores are whole microseconds, well inside the exact range of a double.
    let score = |entries: &[Scored]| entries.first().map_or(0, |e| e.1 as i64);
    Ok((score(&low), score(&high)))
}

/// `from` plus `micros` microseconds (saturating at the end of time).
fn offset(from: DateTime<Utc>, micros: i64) -> DateTime<Utc> {
    from.checked_add_signed(chrono::Duration::microseconds(micros))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}
