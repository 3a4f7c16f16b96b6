//! The request and response bodies of the API, each with its OpenAPI schema, and their
//! conversions to and from the core types.
//!
//! - [`names`]: string enums (task state, priority, send status).
//! - [`task`]: tasks, history, pages.
//! - [`send`]: send and retry requests, and their answer.
//! - [`list`]: the query of `GET /tasks`.
//! - [`overview`]: queues, workers, counts, health, whoami.
//! - [`dead_letters`]: dead letters, their page and query.
//! - [`bulk`]: the body and answer of `POST /tasks/bulk`.
//! - [`events`]: what `GET /events` pushes.
//! - [`search`]: the query and answer of `GET /search`.
//! - [`schedules`]: schedules, their list and the add/replace request.

pub mod bulk;
pub mod dead_letters;
pub mod events;
pub mod list;
pub mod names;
pub mod overview;
pub mod schedules;
pub mod search;
pub mod send;
pub mod task;

pub use bulk::{BulkAction, BulkRequest, BulkResponse, BulkSkip};
pub use dead_letters::{DeadLetterList, DeadLetterParams, DeadLetterView, PurgedDeadLetters};
pub use events::{LiveCounts, LiveTask};
pub use list::ListParams;
pub use names::{NoteName, PriorityName, SendStatusName, StatusName};
pub use overview::{
    AccessRole, BucketView, CountsParams, CountsResponse, Health, NamedQueueList, NamedQueueView,
    QueueList, QueueView, Whoami, WorkerList, WorkerView,
};
pub use schedules::{LastRunView, ScheduleBody, ScheduleList, ScheduleRequest, SchedulerLeader};
pub use search::{SearchPage, SearchParams};
pub use send::{RetryRequest, SendResponse, SendTaskRequest};
pub use task::{StateChangeView, TaskDetails, TaskPage, TaskView, ViewError};
