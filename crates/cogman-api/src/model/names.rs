//! The enumerations of the API as OpenAPI string enums: [`StatusName`] and [`PriorityName`]
//! wrap the core types (their values come from the core, never retyped), [`SendStatusName`]
//! mirrors the facade's send status so clients can read it back.

use std::borrow::Cow;

use cogman::{NoteKind, Priority, SendStatus, TaskState};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// A string schema with these values.
fn string_enum(values: impl IntoIterator<Item = &'static str>, description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(description))
        .enum_values(Some(values))
        .into()
}

/// A task state: `initiated`, `scheduled`, `queued`, `in_progress`, `retry`, `success`,
/// `failed` or `cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StatusName(pub TaskState);

impl PartialSchema for StatusName {
    fn schema() -> RefOr<Schema> {
        string_enum(
            TaskState::ALL.map(TaskState::as_str),
            "Where a task is in its life (see docs/api.md).",
        )
    }
}

impl ToSchema for StatusName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("TaskState")
    }
}

/// What a history note says: `rerun` or `waiting_for_handler`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct NoteName(pub NoteKind);

impl PartialSchema for NoteName {
    fn schema() -> RefOr<Schema> {
        string_enum(
            NoteKind::ALL.map(NoteKind::as_str),
            "What a history note says (see docs/api.md).",
        )
    }
}

impl ToSchema for NoteName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("NoteKind")
    }
}

/// `High` or `Low`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PriorityName(pub Priority);

impl PartialSchema for PriorityName {
    fn schema() -> RefOr<Schema> {
        string_enum(
            [Priority::High, Priority::Low].map(Priority::as_str),
            "High or Low (any case is accepted on input).",
        )
    }
}

impl ToSchema for PriorityName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Priority")
    }
}

/// Where an accepted task is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = SendStatus)]
pub enum SendStatusName {
    /// In the broker, ready to run.
    Queued,
    /// In the broker, waiting for its run time.
    Scheduled,
    /// The broker is unreachable; the task is durable in the log and will be published later.
    Initiated,
    /// The broker is unreachable; the task is held in the server's memory only.
    Buffered,
    /// A live task already holds the unique key: nothing was sent; the id is the holder's.
    Duplicate,
}

impl From<SendStatus> for SendStatusName {
    fn from(status: SendStatus) -> Self {
        match status {
            SendStatus::Queued => SendStatusName::Queued,
            SendStatus::Scheduled => SendStatusName::Scheduled,
            SendStatus::Initiated => SendStatusName::Initiated,
            SendStatus::Buffered => SendStatusName::Buffered,
            SendStatus::Duplicate => SendStatusName::Duplicate,
        }
    }
}

impl From<SendStatusName> for SendStatus {
    fn from(status: SendStatusName) -> Self {
        match status {
            SendStatusName::Queued => SendStatus::Queued,
            SendStatusName::Scheduled => SendStatus::Scheduled,
            SendStatusName::Initiated => SendStatus::Initiated,
            SendStatusName::Buffered => SendStatus::Buffered,
            SendStatusName::Duplicate => SendStatus::Duplicate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_serialize_as_the_core_names() {
        for state in TaskState::ALL {
            let json = serde_json::to_value(StatusName(state)).expect("serializes");
            assert_eq!(json, serde_json::json!(state.as_str()));
        }
        assert_eq!(
            serde_json::to_value(PriorityName(Priority::High)).expect("serializes"),
            "High"
        );
        for status in [
            SendStatus::Queued,
            SendStatus::Scheduled,
            SendStatus::Initiated,
            SendStatus::Buffered,
        ] {
            let ours = serde_json::to_value(SendStatusName::from(status)).expect("serializes");
            assert_eq!(ours, serde_json::to_value(status).expect("serializes"));
            assert_eq!(SendStatus::from(SendStatusName::from(status)), status);
        }
    }
}
