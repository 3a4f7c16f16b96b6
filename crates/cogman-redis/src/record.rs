//! How a [`Task`] is stored: one Redis hash per task, one field per task field (bytes stay
//! raw, timestamps are RFC 3339 with nanoseconds so they read back exactly), plus
//! `created_us`, the index score, and its history: the change that brought the task to state
//! `s`, as compact JSON, in field `history:{s}` (the transition rule only raises the rank, so
//! there is at most one entry per rank, and rank order is time order; see [`StoredChange`]
//! for the entry). Reads ask for the fields they need by name (`HMGET`), so reading a record
//! never carries its history and vice versa. Small records (every value at most 64 bytes) stay
//! a single listpack in Redis, the cheapest form to store and to update.

use std::collections::HashMap;

use chrono::{DateTime, SecondsFormat, Utc};
use cogman_core::{
    HistoryNote, NoteKind, Priority, StateChange, Task, TaskId, TaskLogError, TaskState,
};
use serde::{Deserialize, Serialize};

/// Field/value pairs of a task hash.
pub(crate) type Fields = Vec<(&'static str, Vec<u8>)>;

/// Every field of a record except `created_us` and the history: what [`read_command`] asks for
/// and [`parse_task`] reads.
pub(crate) const RECORD_FIELDS: [&str; 17] = [
    "name",
    "queue",
    "payload",
    "priority",
    "retry",
    "attempt",
    "original_task_id",
    "status",
    "created_at",
    "updated_at",
    "primary_key",
    "run_at",
    "timeout_ms",
    "workflow",
    "fail_error",
    "result",
    "duration",
];

/// Fields a state change may store besides the state (see [`outcome_fields`]); the write
/// script recognises the outcome pairs of a change by these names.
pub(crate) const OUTCOME_FIELDS: [&str; 3] = ["fail_error", "result", "duration"];

/// Fields of a new record the write script fills from the arguments every create carries
/// (see `lua/write.lua`), so a create does not send them twice.
pub(crate) const FILLED_BY_WRITE_SCRIPT: [&str; 3] = ["name", "status", "created_us"];

/// `HMGET` of the [`RECORD_FIELDS`] of the task hash `key`.
pub(crate) fn read_command(key: &str) -> redis::Cmd {
    let mut cmd = redis::cmd("HMGET");
    cmd.arg(key).arg(&RECORD_FIELDS[..]);
    cmd
}

/// The answer of [`read_command`] as the fields the record holds.
pub(crate) fn stored_fields(values: Vec<Option<Vec<u8>>>) -> HashMap<&'static str, Vec<u8>> {
    RECORD_FIELDS
        .into_iter()
        .zip(values)
        .filter_map(|(field, value)| value.map(|value| (field, value)))
        .collect()
}

/// The hash field holding the change that brought a task to `state` (mirrored in
/// `lua/write.lua`).
pub(crate) fn history_field(state: TaskState) -> String {
    format!("history:{state}")
}

/// The hash field holding a task's `n`th history note (1-based; mirrored in `lua/note.lua`).
fn note_field(n: usize) -> String {
    format!("note:{n}")
}

/// `HMGET` of every possible history field of the task hash `key`, in [`TaskState::ALL`]
/// order, then of its [`OUTCOME_FIELDS`] (which final entries refer to), then of every
/// possible note field.
pub(crate) fn history_command(key: &str) -> redis::Cmd {
    let mut cmd = redis::cmd("HMGET");
    cmd.arg(key);
    for state in TaskState::ALL {
        cmd.arg(history_field(state));
    }
    cmd.arg(&OUTCOME_FIELDS[..]);
    for n in 1..=HistoryNote::MAX_PER_TASK {
        cmd.arg(note_field(n));
    }
    cmd
}

/// The stored text of a timestamp.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// The index score of a creation time: microseconds since the epoch (exact in a double for
/// years 1685 to 2255).
pub(crate) fn score(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The fields of a new record for `task`. Fields at their default are left out (an empty
/// payload, priority `Low`, no retries, first attempt, its own original, not updated since
/// created): [`parse_task`] reads them back as the default, and a record with fewer fields is
/// smaller and cheaper to update.
pub(crate) fn fields(task: &Task) -> Fields {
    let mut fields: Fields = vec![
        ("name", task.name.clone().into_bytes()),
        ("status", task.status.as_str().as_bytes().to_vec()),
        ("created_at", timestamp(task.created_at).into_bytes()),
        (
            "created_us",
            score(task.created_at).to_string().into_bytes(),
        ),
    ];
    if !task.payload.is_empty() {
        fields.push(("payload", task.payload.clone()));
    }
    if task.queue != cogman_core::DEFAULT_QUEUE {
        fields.push(("queue", task.queue.clone().into_bytes()));
    }
    if task.priority != Priority::default() {
        fields.push(("priority", task.priority.as_str().as_bytes().to_vec()));
    }
    if task.retry != 0 {
        fields.push(("retry", task.retry.to_string().into_bytes()));
    }
    if task.attempt != 0 {
        fields.push(("attempt", task.attempt.to_string().into_bytes()));
    }
    if task.original_task_id != task.id {
        fields.push((
            "original_task_id",
            task.original_task_id.to_string().into_bytes(),
        ));
    }
    if task.updated_at != task.created_at {
        fields.push(("updated_at", timestamp(task.updated_at).into_bytes()));
    }
    if let Some(key) = &task.primary_key {
        fields.push(("primary_key", key.clone().into_bytes()));
    }
    if let Some(run_at) = task.run_at {
        fields.push(("run_at", timestamp(run_at).into_bytes()));
    }
    if let Some(timeout) = task.timeout_ms {
        fields.push(("timeout_ms", timeout.to_string().into_bytes()));
    }
    if let Some(workflow) = &task.workflow {
        let json = serde_json::to_vec(workflow).expect("invariant: a workflow link serializes");
        fields.push(("workflow", json));
    }
    fields.extend(outcome_fields(
        task.fail_error.as_deref(),
        task.result.as_deref(),
        task.duration,
    ));
    fields
}

/// The fields a state change may carry besides the state (stored only when present).
pub(crate) fn outcome_fields(
    error: Option<&str>,
    result: Option<&[u8]>,
    duration: Option<f64>,
) -> Fields {
    let [error_field, result_field, duration_field] = OUTCOME_FIELDS;
    let mut fields = Fields::new();
    if let Some(error) = error {
        fields.push((error_field, error.as_bytes().to_vec()));
    }
    if let Some(result) = result {
        fields.push((result_field, result.to_vec()));
    }
    if let Some(duration) = duration {
        fields.push((duration_field, duration.to_string().into_bytes()));
    }
    fields
}

/// A history entry as stored: the change without what its place already says (the task id is
/// in the key, the state in the field name), with short names and no empty fields, so that a
/// small record stays compact (Redis keeps a hash whose values are at most 64 bytes as one
/// listpack). A final change is the last one a record ever gets, so its error, result and
/// duration are the record's own fields: its entry only says which it had (`o`).
#[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
struct StoredChange {
    /// When, in nanoseconds since the epoch...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    t: Option<i64>,
    /// ...or as RFC 3339 for times outside 1677-2262.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    a: Option<DateTime<Utc>>,
    /// The worker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    w: Option<String>,
    /// The error, result and duration of a change that is not final.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    e: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "cogman_core::task::base64_opt"
    )]
    r: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    d: Option<f64>,
    /// Which of error (`e`), result (`r`) and duration (`d`) a final change had; their values
    /// are the record's `fail_error`, `result` and `duration`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    o: String,
    /// The kind of a note (only in `note:<n>` fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    k: Option<NoteKind>,
}

/// The entry of a history note, as `lua/note.lua` stores it after the task's state.
pub(crate) fn note_entry(note: &HistoryNote) -> String {
    let stored = StoredChange {
        w: note.worker.clone(),
        k: Some(note.kind),
        ..StoredChange::at(note.at)
    };
    serde_json::to_string(&stored).expect("invariant: a history note serializes")
}

/// The history entry for a change.
pub(crate) fn history_entry(change: &StateChange) -> String {
    let mut stored = StoredChange {
        w: change.worker.clone(),
        ..StoredChange::at(change.at)
    };
    if change.state.is_final() {
        for (letter, present) in [
            ('e', change.error.is_some()),
            ('r', change.result.is_some()),
            ('d', change.duration.is_some()),
        ] {
            if present {
                stored.o.push(letter);
            }
        }
    } else {
        stored.e.clone_from(&change.error);
        stored.r.clone_from(&change.result);
        stored.d = change.duration;
    }
    serde_json::to_string(&stored).expect("invariant: a history entry serializes")
}

/// The record's own outcome fields, which a final change's entry refers to.
struct StoredOutcome {
    error: Option<String>,
    result: Option<Vec<u8>>,
    duration: Option<f64>,
}

impl StoredChange {
    /// An entry made at `at`: in nanoseconds when they fit, as RFC 3339 otherwise.
    fn at(at: DateTime<Utc>) -> Self {
        let t = at.timestamp_nanos_opt();
        StoredChange {
            t,
            a: t.is_none().then_some(at),
            ..StoredChange::default()
        }
    }

    /// The change this entry records, for task `id` entering `state`.
    fn into_change(
        self,
        id: TaskId,
        state: TaskState,
        record: &StoredOutcome,
    ) -> Result<StateChange, TaskLogError> {
        let at = match (self.t, self.a) {
            (Some(nanos), _) => DateTime::from_timestamp_nanos(nanos),
            (None, Some(at)) => at,
            (None, None) => return Err(corrupt(id, "history entry has no time".to_owned())),
        };
        let error = self.outcome(id, 'e', record.error.clone(), "fail_error")?;
        let result = self.outcome(id, 'r', record.result.clone(), "result")?;
        let duration = self.outcome(id, 'd', record.duration, "duration")?;
        Ok(StateChange {
            task_id: id,
            state,
            at,
            error: error.or(self.e),
            result: result.or(self.r),
            duration: duration.or(self.d),
            worker: self.w,
            note: self.k,
        })
    }

    /// The record's `value` of outcome field `name` if this entry says (with `letter`) the
    /// change had it.
    fn outcome<T>(
        &self,
        id: TaskId,
        letter: char,
        value: Option<T>,
        name: &str,
    ) -> Result<Option<T>, TaskLogError> {
        if !self.o.contains(letter) {
            return Ok(None);
        }
        value
            .map(Some)
            .ok_or_else(|| corrupt(id, format!("history refers to a missing {name}")))
    }
}

/// Reads the answer of [`history_command`] back: the entries oldest first (by rank, then
/// time), the newest `limit` of them.
pub(crate) fn parse_history(
    id: TaskId,
    mut values: Vec<Option<Vec<u8>>>,
    limit: usize,
) -> Result<Vec<StateChange>, TaskLogError> {
    let mut outcome = values.split_off(TaskState::ALL.len().min(values.len()));
    let notes = outcome.split_off(OUTCOME_FIELDS.len().min(outcome.len()));
    let mut outcome = outcome.into_iter();
    let text = |value: Option<Vec<u8>>, field: &str| {
        value
            .map(|bytes| {
                String::from_utf8(bytes).map_err(|_| corrupt(id, format!("{field} is not UTF-8")))
            })
            .transpose()
    };
    let [error_field, _, duration_field] = OUTCOME_FIELDS;
    let record = StoredOutcome {
        error: text(outcome.next().flatten(), error_field)?,
        result: outcome.next().flatten(),
        duration: text(outcome.next().flatten(), duration_field)?
            .map(|t| {
                t.parse::<f64>()
                    .map_err(|e| corrupt(id, format!("duration: {e}")))
            })
            .transpose()?,
    };
    let mut history = TaskState::ALL
        .into_iter()
        .zip(values)
        .filter_map(|(state, entry)| entry.map(|entry| (state, entry)))
        .map(|(state, entry)| {
            serde_json::from_slice::<StoredChange>(&entry)
                .map_err(|e| corrupt(id, format!("history entry: {e}")))?
                .into_change(id, state, &record)
        })
        .collect::<Result<Vec<_>, _>>()?;
    for note in notes.into_iter().flatten() {
        history.push(parse_note(id, &note, &record)?);
    }
    history.sort_by_key(|change| (change.state.rank(), change.at));
    let skip = history.len().saturating_sub(limit);
    history.drain(..skip);
    Ok(history)
}

/// Reads a `note:<n>` field back: the task's state when the note was made, a space, the entry.
fn parse_note(
    id: TaskId,
    stored: &[u8],
    record: &StoredOutcome,
) -> Result<StateChange, TaskLogError> {
    let text = std::str::from_utf8(stored).map_err(|_| corrupt(id, "note is not UTF-8".into()))?;
    let (state, entry) = text
        .split_once(' ')
        .ok_or_else(|| corrupt(id, "note has no state".into()))?;
    let state: TaskState = state
        .parse()
        .map_err(|e| corrupt(id, format!("note state: {e}")))?;
    serde_json::from_str::<StoredChange>(entry)
        .map_err(|e| corrupt(id, format!("note entry: {e}")))?
        .into_change(id, state, record)
}

/// Reads a task hash back (see [`stored_fields`]); `None` when it holds nothing (no record).
pub(crate) fn parse_task(
    id: TaskId,
    mut hash: HashMap<&'static str, Vec<u8>>,
) -> Result<Option<Task>, TaskLogError> {
    if hash.is_empty() {
        return Ok(None);
    }
    let mut take = |field: &str| hash.remove(field);
    let text = |field: &'static str,
                value: Option<Vec<u8>>|
     -> Result<Option<String>, TaskLogError> {
        value
            .map(|bytes| {
                String::from_utf8(bytes).map_err(|_| corrupt(id, format!("{field} is not UTF-8")))
            })
            .transpose()
    };
    let required = |field: &'static str, value: Option<Vec<u8>>| -> Result<String, TaskLogError> {
        text(field, value)?.ok_or_else(|| corrupt(id, format!("{field} is missing")))
    };
    let name = required("name", take("name"))?;
    let payload = take("payload").unwrap_or_default();
    let priority: Priority = text("priority", take("priority"))?
        .map(|t| t.parse().map_err(|e| corrupt(id, format!("priority: {e}"))))
        .transpose()?
        .unwrap_or_default();
    let retry = text("retry", take("retry"))?
        .map(|t| number(id, "retry", &t))
        .transpose()?
        .unwrap_or(0);
    let attempt = text("attempt", take("attempt"))?
        .map(|t| number(id, "attempt", &t))
        .transpose()?
        .unwrap_or(0);
    let original: TaskId = text("original_task_id", take("original_task_id"))?
        .map(|t| {
            t.parse()
                .map_err(|e| corrupt(id, format!("original_task_id: {e}")))
        })
        .transpose()?
        .unwrap_or(id);
    let status: TaskState = required("status", take("status"))?
        .parse()
        .map_err(|e| corrupt(id, format!("status: {e}")))?;
    let created_at = instant(
        id,
        "created_at",
        &required("created_at", take("created_at"))?,
    )?;
    let updated_at = text("updated_at", take("updated_at"))?
        .map(|t| instant(id, "updated_at", &t))
        .transpose()?
        .unwrap_or(created_at);
    let run_at = text("run_at", take("run_at"))?
        .map(|t| instant(id, "run_at", &t))
        .transpose()?;
    let timeout_ms = text("timeout_ms", take("timeout_ms"))?
        .map(|t| number(id, "timeout_ms", &t))
        .transpose()?;
    let duration = text("duration", take("duration"))?
        .map(|t| {
            t.parse::<f64>()
                .map_err(|e| corrupt(id, format!("duration: {e}")))
        })
        .transpose()?;
    let workflow = take("workflow")
        .map(|json| {
            serde_json::from_slice(&json).map_err(|e| corrupt(id, format!("workflow: {e}")))
        })
        .transpose()?;
    let queue =
        text("queue", take("queue"))?.unwrap_or_else(|| cogman_core::DEFAULT_QUEUE.to_owned());
    Ok(Some(Task {
        trace: None,
        id,
        name,
        queue,
        payload,
        priority,
        retry,
        attempt,
        original_task_id: original,
        primary_key: text("primary_key", take("primary_key"))?,
        status,
        fail_error: text("fail_error", take("fail_error"))?,
        result: take("result"),
        duration,
        created_at,
        updated_at,
        run_at,
        timeout_ms,
        workflow,
        unique_key: None,
    }))
}

fn number<T: std::str::FromStr>(id: TaskId, field: &str, text: &str) -> Result<T, TaskLogError>
where
    T::Err: std::fmt::Display,
{
    text.parse()
        .map_err(|e| corrupt(id, format!("{field}: {e}")))
}

fn instant(id: TaskId, field: &str, text: &str) -> Result<DateTime<Utc>, TaskLogError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| corrupt(id, format!("{field}: {e}")))
}

pub(crate) fn corrupt(id: TaskId, reason: String) -> TaskLogError {
    TaskLogError::Corrupt {
        id: id.to_string(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use cogman_core::workflow::WorkflowKind;
    use cogman_core::{Priority, TaskSpec, WorkflowLink};

    use super::*;

    /// A task with every optional field set.
    fn full_task() -> Task {
        let now = Utc::now();
        let mut task = Task::from_spec(TaskSpec::new("n", b"p".to_vec()), now);
        task.priority = Priority::High;
        task.queue = "q.1".to_owned();
        task.primary_key = Some("k".to_owned());
        task.run_at = Some(now);
        task.timeout_ms = Some(5);
        task.fail_error = Some("e".to_owned());
        task.result = Some(b"r".to_vec());
        task.duration = Some(1.5);
        task.workflow = Some(WorkflowLink {
            workflow_id: TaskId::new(),
            kind: WorkflowKind::Chain,
            size: 1,
            then: vec![],
            index: None,
            callback_id: None,
        });
        task
    }

    #[test]
    fn reads_ask_for_every_field_a_record_is_written_with() {
        let task = full_task();
        let written = fields(&task);
        for (field, _) in &written {
            assert!(
                *field == "created_us" || RECORD_FIELDS.contains(field),
                "{field} is written but never read"
            );
        }
        let values = RECORD_FIELDS
            .iter()
            .map(|field| {
                written
                    .iter()
                    .find(|(name, _)| name == field)
                    .map(|(_, value)| value.clone())
            })
            .collect();
        let read = parse_task(task.id, stored_fields(values)).expect("parses");
        assert_eq!(read, Some(task));
    }

    /// What `history_command` answers for a record holding `changes` and the outcome fields
    /// the last of them left.
    fn stored_history(changes: &[StateChange]) -> Vec<Option<Vec<u8>>> {
        let mut values: Vec<Option<Vec<u8>>> = TaskState::ALL
            .into_iter()
            .map(|state| {
                changes
                    .iter()
                    .find(|c| c.state == state)
                    .map(|c| history_entry(c).into_bytes())
            })
            .collect();
        let last = changes.iter().max_by_key(|c| c.state.rank());
        let outcome = outcome_fields(
            last.and_then(|c| c.error.as_deref()),
            last.and_then(|c| c.result.as_deref()),
            last.and_then(|c| c.duration),
        );
        for field in OUTCOME_FIELDS {
            values.push(
                outcome
                    .iter()
                    .find(|(name, _)| *name == field)
                    .map(|(_, value)| value.clone()),
            );
        }
        values
    }

    #[test]
    fn history_reads_back_oldest_first_and_capped() {
        let id = TaskId::new();
        let at = Utc::now();
        let change = |state, ms| StateChange {
            at: at + chrono::Duration::milliseconds(ms),
            ..StateChange::new(id, state)
        };
        let stored = [
            change(TaskState::Failed, 3)
                .error("boom")
                .result(Some(vec![0xFF, 0]))
                .worker("12345-0123456789ab"),
            change(TaskState::Initiated, 0),
            StateChange {
                duration: Some(0.25),
                ..change(TaskState::InProgress, 2)
                    .worker("12345-0123456789ab")
                    .error("not yet")
            },
        ];
        let values = stored_history(&stored);
        let all = parse_history(id, values.clone(), 100).expect("parses");
        assert_eq!(
            all,
            [stored[1].clone(), stored[2].clone(), stored[0].clone()]
        );
        let newest = parse_history(id, values, 2).expect("parses");
        assert_eq!(newest, all[1..].to_vec());
        let mut broken = vec![None; TaskState::ALL.len() + OUTCOME_FIELDS.len()];
        broken[0] = Some(b"{".to_vec());
        assert!(parse_history(id, broken, 10).is_err());
    }

    #[test]
    fn a_final_entry_takes_its_outcome_from_the_record() {
        let id = TaskId::new();
        let done = StateChange::new(id, TaskState::Success)
            .result(Some(b"{\"ok\":true}".to_vec()))
            .duration(std::time::Duration::from_millis(3))
            .worker("12345-0123456789ab");
        let entry = history_entry(&done);
        assert!(!entry.contains("ok"), "the result is not copied: {entry}");
        assert!(entry.len() <= 64, "small enough for a listpack: {entry}");
        let mut values = stored_history(std::slice::from_ref(&done));
        assert_eq!(
            parse_history(id, values.clone(), 10).expect("parses"),
            [done]
        );
        values.truncate(TaskState::ALL.len());
        values.extend([None, None, None]);
        assert!(
            parse_history(id, values, 10).is_err(),
            "an entry that refers to a missing result is corrupt"
        );
    }

    #[test]
    fn entries_keep_times_outside_the_nanosecond_range() {
        let id = TaskId::new();
        let far = StateChange {
            at: DateTime::parse_from_rfc3339("2400-01-01T00:00:00.123456789Z")
                .expect("valid")
                .with_timezone(&Utc),
            ..StateChange::new(id, TaskState::Queued)
        };
        let values = stored_history(std::slice::from_ref(&far));
        assert_eq!(parse_history(id, values, 10).expect("parses"), [far]);
    }

    #[test]
    fn the_write_script_fills_the_fields_a_create_leaves_out() {
        let script = include_str!("lua/write.lua");
        for field in FILLED_BY_WRITE_SCRIPT {
            assert!(
                script.contains(&format!("'{field}',")),
                "lua/write.lua never stores {field}"
            );
            assert!(
                fields(&full_task()).iter().any(|(name, _)| *name == field),
                "{field} is not a record field"
            );
        }
    }

    #[test]
    fn fields_at_their_default_are_left_out_and_read_back() {
        let now = Utc::now();
        let plain = Task::from_spec(TaskSpec::new("n", Vec::new()), now);
        let written: Vec<&str> = fields(&plain).iter().map(|(name, _)| *name).collect();
        assert_eq!(written, ["name", "status", "created_at", "created_us"]);
        let mut retried = plain.next_attempt(now, now + chrono::Duration::seconds(1));
        retried.updated_at = now + chrono::Duration::seconds(2);
        let written: Vec<&str> = fields(&retried).iter().map(|(name, _)| *name).collect();
        for field in ["attempt", "original_task_id", "updated_at"] {
            assert!(written.contains(&field), "{field} in {written:?}");
        }
        for task in [plain, retried] {
            let values = RECORD_FIELDS
                .iter()
                .map(|field| {
                    fields(&task)
                        .into_iter()
                        .find(|(name, _)| name == field)
                        .map(|(_, value)| value)
                })
                .collect();
            assert_eq!(
                parse_task(task.id, stored_fields(values)).expect("parses"),
                Some(task)
            );
        }
    }

    #[test]
    fn history_fields_are_named_by_state() {
        assert_eq!(history_field(TaskState::InProgress), "history:in_progress");
    }
}
