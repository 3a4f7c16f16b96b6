//! History notes ([`TaskLog::note`](cogman_core::TaskLog::note)) in the task hash: the `note`
//! script appends one as field `note:<n>` (at most [`HistoryNote::MAX_PER_TASK`]) with the
//! task's status at that moment, and [`record::parse_history`](crate::record::parse_history)
//! merges them into the history by rank and time.

use cogman_core::{HistoryNote, NoteOutcome, TaskLogError};

use crate::namespace::Namespace;
use crate::record;

/// Appends `note`; see the module documentation.
pub(crate) async fn note(ns: &Namespace, note: &HistoryNote) -> Result<NoteOutcome, TaskLogError> {
    let key = ns.keys.task(note.task_id);
    let entry = record::note_entry(note);
    let answer: String = ns
        .conn
        .run("note", |mut con| {
            let mut invocation = ns.scripts.note.prepare_invoke();
            invocation
                .key(&key)
                .arg(HistoryNote::MAX_PER_TASK)
                .arg(&entry);
            async move { invocation.invoke_async(&mut con).await }
        })
        .await?;
    match answer.as_str() {
        "added" => Ok(NoteOutcome::Added),
        "full" => Ok(NoteOutcome::Full),
        "missing" => Ok(NoteOutcome::Missing),
        other => Err(TaskLogError::Other(
            format!("the note script answered {other:?}").into(),
        )),
    }
}
