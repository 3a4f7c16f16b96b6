//! The search language of `GET /search` (docs/api.md, "Search"): [`SearchQuery::parse`] turns
//! one line such as `state:failed queue:images error:"timed out" payload.customer_id=42` into
//! the part every task log can filter on ([`TaskFilter`]: states, name, primary key, chain,
//! creation range) and the rest, which [`SearchQuery::matches`] checks on each task read (id,
//! queue, error text, a JSON path into the payload).

use chrono::{DateTime, TimeDelta, Utc};
use cogman::{Task, TaskFilter, TaskId, TaskState};
use serde_json::Value;

/// Why a search line was refused; the message names the term.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct SearchError(String);

/// One step of a payload path: a field or an array index.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Field(String),
    Index(usize),
}

/// A parsed search line.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct SearchQuery {
    /// What the task log filters on.
    pub(crate) filter: TaskFilter,
    /// The attempt (or chain) id asked for.
    id: Option<TaskId>,
    /// The named queue.
    queue: Option<String>,
    /// Lower-cased text the error must contain.
    error: Option<String>,
    /// Payload paths and the JSON value each must equal.
    payload: Vec<(Vec<Step>, Value)>,
}

/// Splits a line into terms: spaces separate them, except inside double quotes. The quotes and
/// backslashes stay in each term for [`unquote`].
fn terms(line: &str) -> Result<Vec<String>, SearchError> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            '\\' if quoted => match chars.next() {
                Some(next) => {
                    current.push(c);
                    current.push(next);
                }
                None => return Err(SearchError("a search line ends with a backslash".into())),
            },
            c if c.is_whitespace() && !quoted => {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if quoted {
        return Err(SearchError("a quote is not closed".into()));
    }
    if !current.is_empty() {
        out.push(current);
    }
    Ok(out)
}

/// A value without its quotes (`\"` inside them is a quote), and whether it had any: a quoted
/// payload value is a string even when it reads as a number.
fn unquote(raw: &str) -> (String, bool) {
    if !raw.contains('"') {
        return (raw.to_owned(), false);
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {}
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    (out, true)
}

/// The comparison of a term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Is,
    Before,
    AtOrAfter,
}

/// Splits `field<op>value` at the first `:`, `=`, `>=`, `>` or `<`.
fn split_term(term: &str) -> Option<(&str, Op, &str)> {
    let at = term.find([':', '=', '<', '>'])?;
    let (field, rest) = term.split_at(at);
    let (op, value) = if let Some(v) = rest.strip_prefix(">=") {
        (Op::AtOrAfter, v)
    } else if let Some(v) = rest.strip_prefix('>') {
        (Op::AtOrAfter, v)
    } else if let Some(v) = rest.strip_prefix('<') {
        (Op::Before, v)
    } else {
        (Op::Is, &rest[1..])
    };
    Some((field, op, value))
}

/// A time: RFC 3339, or a duration (`90s`, `15m`, `2h`, `7d`) meaning that long before `now`.
fn parse_time(value: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, SearchError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    let ago = humantime::parse_duration(value).map_err(|_| {
        SearchError(format!(
            "created needs an RFC 3339 time or a duration such as 1h (meaning 1 hour ago), not {value:?}"
        ))
    })?;
    TimeDelta::from_std(ago)
        .ok()
        .and_then(|d| now.checked_sub_signed(d))
        .ok_or_else(|| SearchError(format!("{value:?} reaches too far back")))
}

/// `payload.a.b[0]` (the part after `payload`) into steps.
fn parse_path(path: &str) -> Result<Vec<Step>, SearchError> {
    let mut steps = Vec::new();
    let bad = || {
        SearchError(format!(
            "payload{path} is not a path like payload.customer.id or payload.items[0].sku"
        ))
    };
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            if end == 0 {
                return Err(bad());
            }
            steps.push(Step::Field(after[..end].to_owned()));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(bad)?;
            steps.push(Step::Index(after[..end].parse().map_err(|_| bad())?));
            rest = &after[end + 1..];
        } else {
            return Err(bad());
        }
    }
    if steps.is_empty() {
        return Err(bad());
    }
    Ok(steps)
}

impl SearchQuery {
    /// Reads a search line; `now` anchors relative times.
    ///
    /// # Errors
    /// [`SearchError`] naming the first term that is not understood.
    pub(crate) fn parse(line: &str, now: DateTime<Utc>) -> Result<Self, SearchError> {
        let mut query = SearchQuery::default();
        for term in terms(line)? {
            let Some((field, op, raw)) = split_term(&term) else {
                // A bare word: an id when it is one, else a primary key.
                let (word, _) = unquote(&term);
                match word.parse::<TaskId>() {
                    Ok(id) => query.id = Some(id),
                    Err(_) => query.filter.primary_key = Some(word),
                }
                continue;
            };
            let (text, quoted) = unquote(raw);
            let value = text.as_str();
            if value.is_empty() {
                return Err(SearchError(format!("{term:?} has no value")));
            }
            let field_lower = field.to_ascii_lowercase();
            if op != Op::Is && field_lower != "created" {
                return Err(SearchError(format!("{term:?}: only created takes < or >")));
            }
            match field_lower.as_str() {
                "id" => {
                    query.id = Some(value.parse().map_err(|_| {
                        SearchError(format!("id:{value} is not a task id (a UUID)"))
                    })?);
                }
                "name" => query.filter.name = Some(value.to_owned()),
                "key" | "primary_key" => query.filter.primary_key = Some(value.to_owned()),
                "queue" => query.queue = Some(value.to_owned()),
                "error" => query.error = Some(value.to_lowercase()),
                "state" | "status" => {
                    for name in value.split(',').filter(|s| !s.is_empty()) {
                        let state = name.parse::<TaskState>().map_err(|_| {
                            SearchError(format!(
                                "{name:?} is not a state; the states are {}",
                                TaskState::ALL.map(TaskState::as_str).join(", ")
                            ))
                        })?;
                        query.filter.statuses.push(state);
                    }
                }
                "chain" | "original_task_id" => {
                    query.filter.original_task_id = Some(value.parse().map_err(|_| {
                        SearchError(format!("chain:{value} is not a task id (a UUID)"))
                    })?);
                }
                "created" => {
                    let at = parse_time(value, now)?;
                    match op {
                        Op::Before => query.filter.created_to = Some(at),
                        Op::AtOrAfter => query.filter.created_from = Some(at),
                        Op::Is => {
                            return Err(SearchError(
                                "created takes < or >, e.g. created>1h or created<2026-12-01T00:00:00Z"
                                    .into(),
                            ));
                        }
                    }
                }
                _ if field_lower == "payload"
                    || field_lower.starts_with("payload.")
                    || field_lower.starts_with("payload[") =>
                {
                    let steps = parse_path(&field["payload".len()..])?;
                    // Quoted: text. Else a JSON literal (42, true, null) or else the plain text.
                    let expected = if quoted {
                        Value::String(text.clone())
                    } else {
                        serde_json::from_str(value).unwrap_or_else(|_| Value::String(text.clone()))
                    };
                    query.payload.push((steps, expected));
                }
                _ => {
                    return Err(SearchError(format!(
                        "unknown field {field:?}; the fields are id, name, state, queue, key, error, chain, created and payload.PATH"
                    )));
                }
            }
        }
        query
            .filter
            .validate()
            .map_err(|e| SearchError(e.to_string()))?;
        Ok(query)
    }

    /// The id asked for, if any: the search reads that task directly.
    pub(crate) fn id(&self) -> Option<TaskId> {
        self.id
    }

    /// True when the task log's filter decides everything (no check on each task is needed).
    pub(crate) fn only_filter(&self) -> bool {
        self.id.is_none() && self.queue.is_none() && self.error.is_none() && self.payload.is_empty()
    }

    /// Whether `task` satisfies every term (the filter's included).
    pub(crate) fn matches(&self, task: &Task) -> bool {
        if !self.filter.matches(task) {
            return false;
        }
        if self
            .id
            .is_some_and(|id| task.id != id && task.original_task_id != id)
        {
            return false;
        }
        if self.queue.as_ref().is_some_and(|q| &task.queue != q) {
            return false;
        }
        if let Some(text) = &self.error
            && !task
                .fail_error
                .as_ref()
                .is_some_and(|e| e.to_lowercase().contains(text))
        {
            return false;
        }
        if self.payload.is_empty() {
            return true;
        }
        let Ok(payload) = serde_json::from_slice::<Value>(&task.payload) else {
            return false;
        };
        self.payload.iter().all(|(steps, expected)| {
            let mut at = &payload;
            for step in steps {
                let next = match step {
                    Step::Field(name) => at.get(name),
                    Step::Index(i) => at.get(i),
                };
                match next {
                    Some(value) => at = value,
                    None => return false,
                }
            }
            at == expected
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        "2026-12-03T12:00:00Z".parse().expect("time")
    }

    fn task(payload: &str) -> Task {
        let mut task = Task::from_spec(cogman::TaskSpec::new("bill", payload.as_bytes()), now());
        task.status = TaskState::Failed;
        task.fail_error = Some("Card DECLINED by bank".into());
        task
    }

    #[test]
    fn every_field_is_read() {
        let q = SearchQuery::parse(
            r#"name:bill state:failed,retry queue:default key:k-1 error:"declined by" created>1h created<2026-12-03T13:00:00Z payload.customer.id=42"#,
            now(),
        )
        .expect("parsed");
        assert_eq!(q.filter.name.as_deref(), Some("bill"));
        assert_eq!(q.filter.statuses, vec![TaskState::Failed, TaskState::Retry]);
        assert_eq!(q.filter.primary_key.as_deref(), Some("k-1"));
        assert_eq!(q.filter.created_from, Some(now() - TimeDelta::hours(1)));
        assert_eq!(
            q.filter.created_to,
            Some("2026-12-03T13:00:00Z".parse().expect("time"))
        );
        assert_eq!(q.queue.as_deref(), Some("default"));
        assert_eq!(q.error.as_deref(), Some("declined by"));
        assert_eq!(
            q.payload,
            vec![(
                vec![Step::Field("customer".into()), Step::Field("id".into())],
                serde_json::json!(42)
            )]
        );
        assert!(!q.only_filter());
    }

    #[test]
    fn a_bare_word_is_an_id_or_a_primary_key() {
        let id = TaskId::new();
        let q = SearchQuery::parse(&id.to_string(), now()).expect("parsed");
        assert_eq!(q.id(), Some(id));
        let q = SearchQuery::parse("order-17", now()).expect("parsed");
        assert_eq!(q.filter.primary_key.as_deref(), Some("order-17"));
        assert!(q.only_filter());
    }

    #[test]
    fn payload_paths_compare_json_values() {
        let t = task(r#"{"customer":{"id":42,"tier":"gold"},"items":[{"sku":"A1"}]}"#);
        let yes = |line: &str| SearchQuery::parse(line, now()).expect(line).matches(&t);
        assert!(yes("payload.customer.id=42"));
        assert!(!yes("payload.customer.id=43"));
        assert!(
            !yes(r#"payload.customer.id="42""#),
            "a string is not a number"
        );
        assert!(yes("payload.customer.tier=gold"));
        assert!(yes(r#"payload.items[0].sku="A1""#));
        assert!(!yes("payload.items[1].sku=A1"));
        assert!(!yes("payload.nope=1"));
        assert!(yes("error:declined"), "error text is matched without case");
        assert!(!yes("error:approved"));
        assert!(yes("state:failed name:bill"));
        assert!(!yes("queue:images"));
        assert!(!task("not json").payload.is_empty());
        assert!(
            !SearchQuery::parse("payload.a=1", now())
                .expect("parsed")
                .matches(&task("not json"))
        );
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        for (line, says) in [
            ("colour:red", "unknown field"),
            ("state:done", "not a state"),
            ("id:42", "not a task id"),
            ("created:1h", "created takes"),
            ("name>x", "only created"),
            ("created>soon", "RFC 3339"),
            ("payload..a=1", "not a path"),
            ("payload[x]=1", "not a path"),
            (r#"error:"open"#, "not closed"),
            ("name:", "has no value"),
        ] {
            let error = SearchQuery::parse(line, now()).expect_err(line);
            assert!(error.to_string().contains(says), "{line}: {error}");
        }
    }
}
