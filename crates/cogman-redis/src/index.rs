//! Reading an index zset in list order (creation time descending, then id descending) from a
//! [`Position`], one page at a time, through the `page` script, or oldest first by offset.
//! Used by listing, `oldest` and purging.

use cogman_core::TaskLogError;

use crate::namespace::Namespace;

/// Where to continue reading an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Position {
    /// From the newest entry whose score is at most this.
    AtOrBelow(i64),
    /// Strictly after this entry: a lower score, or the same score and a lower id.
    After {
        /// Its score.
        score: i64,
        /// Its id.
        id: String,
    },
}

/// One index entry: (score, id).
pub(crate) type Entry = (i64, String);

impl Position {
    /// Whether `entry` is read from this position on, newest first (the order `page` reads).
    pub(crate) fn admits(&self, entry: &Entry) -> bool {
        match self {
            Position::AtOrBelow(max) => entry.0 <= *max,
            Position::After { score, id } => (entry.0, entry.1.as_str()) < (*score, id.as_str()),
        }
    }
}

/// Up to `limit` entries of `key` after `from`, with a score of at least `min`.
pub(crate) async fn page(
    ns: &Namespace,
    key: &str,
    from: &Position,
    min: Option<i64>,
    limit: usize,
) -> Result<Vec<Entry>, TaskLogError> {
    let (max, cursor) = match from {
        Position::AtOrBelow(max) => (*max, ""),
        Position::After { score, id } => (*score, id.as_str()),
    };
    let min = min.map_or_else(|| "-inf".to_owned(), |m| m.to_string());
    let flat: Vec<String> = ns
        .conn
        .run("page", |mut con| {
            let mut invocation = ns.scripts.page.prepare_invoke();
            invocation
                .key(key)
                .arg(max)
                .arg(cursor)
                .arg(&min)
                .arg(limit);
            async move { invocation.invoke_async(&mut con).await }
        })
        .await?;
    flat.chunks_exact(2)
        .map(|pair| {
            let score = pair[1].parse::<f64>().map_err(|e| {
                TaskLogError::Other(format!("index {key} holds a bad score: {e}").into())
            })?;
            // Scores are whole microseconds, well inside the exact range of a double.
            Ok((score as i64, pair[0].clone()))
        })
        .collect()
}

/// Up to `limit` entries of `key` oldest first (score, then id, ascending), skipping the first
/// `offset`, with `min <= score <= max`.
pub(crate) async fn ascending(
    ns: &Namespace,
    key: &str,
    min: Option<i64>,
    max: Option<i64>,
    offset: usize,
    limit: usize,
) -> Result<Vec<Entry>, TaskLogError> {
    let min = min.map_or_else(|| "-inf".to_owned(), |m| m.to_string());
    let max = max.map_or_else(|| "+inf".to_owned(), |m| m.to_string());
    let entries: Vec<(String, f64)> = ns
        .conn
        .run("ascending", |mut con| {
            let (min, max) = (&min, &max);
            async move {
                redis::cmd("ZRANGEBYSCORE")
                    .arg(key)
                    .arg(min)
                    .arg(max)
                    .arg("WITHSCORES")
                    .arg("LIMIT")
                    .arg(offset)
                    .arg(limit)
                    .query_async(&mut con)
                    .await
            }
        })
        .await?;
    // Scores are whole microseconds, well inside the exact range of a double.
    Ok(entries
        .into_iter()
        .map(|(id, score)| (score as i64, id))
        .collect())
}

/// The position right after `entry`.
pub(crate) fn after(entry: &Entry) -> Position {
    Position::After {
        score: entry.0,
        id: entry.1.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_admit_what_comes_after_them_newest_first() {
        let entry = |score, id: &str| (score, id.to_owned());
        assert!(Position::AtOrBelow(5).admits(&entry(5, "b")));
        assert!(!Position::AtOrBelow(5).admits(&entry(6, "a")));
        let cursor = Position::After {
            score: 5,
            id: "b".to_owned(),
        };
        assert!(cursor.admits(&entry(5, "a")));
        assert!(cursor.admits(&entry(4, "z")));
        assert!(!cursor.admits(&entry(5, "b")));
        assert!(!cursor.admits(&entry(5, "c")));
        assert!(!cursor.admits(&entry(6, "a")));
    }
}
