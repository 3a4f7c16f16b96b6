//! [`RemoteClient`]: the REST API over HTTP (reqwest), for the `--server` mode of send, status,
//! tasks, retry, cancel, dead-letters and schedule list. It speaks the server's bodies ([`cogman_api::model`]) and hands
//! back core types (`Task`, `TaskDetails`, `Page`, `SendReceipt`), so commands print remote and
//! local results the same way. It lives in the binary so that users of the library crates
//! compile no HTTP client.

use std::fmt;
use std::time::Duration;

use cogman::{Page, PageRequest, SendReceipt, Task, TaskDetails, TaskFilter, TaskId, TaskSpec};
use reqwest::{Method, RequestBuilder};
use serde::de::DeserializeOwned;

use cogman_api::model::{
    DeadLetterList, PurgedDeadLetters, RetryRequest, ScheduleList, SendResponse, SendTaskRequest,
    TaskPage, TaskView, ViewError,
};
use cogman_api::{ErrorBody, PREFIX};

/// How long one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a remote call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum RemoteError {
    /// The server URL is not `http://` or `https://`.
    #[error("invalid server URL {0:?}: expected http://host:port or https://host:port")]
    InvalidUrl(String),
    /// The server could not be reached, or the connection failed.
    #[error("cannot reach the cogman API")]
    Http(#[source] reqwest::Error),
    /// The server answered with an error.
    #[error("the API answered {status}: {message} ({code})")]
    Api {
        /// HTTP status.
        status: u16,
        /// The error code (`not_found`, `invalid_field`, …).
        code: String,
        /// The server's message.
        message: String,
    },
    /// The answer could not be read.
    #[error("unexpected answer from the API: {0}")]
    Decode(String),
}

impl From<ViewError> for RemoteError {
    fn from(error: ViewError) -> Self {
        RemoteError::Decode(error.to_string())
    }
}

/// A client of a running cogman API. Cheap to clone.
#[derive(Clone)]
pub(crate) struct RemoteClient {
    http: reqwest::Client,
    /// `scheme://host[:port]` plus the API prefix, without a trailing slash.
    base: String,
    token: Option<String>,
}

impl fmt::Debug for RemoteClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteClient")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "****"))
            .finish()
    }
}

impl RemoteClient {
    /// A client of the API at `server` (e.g. `http://127.0.0.1:8080`; a trailing `/api/v1`
    /// is allowed), sending `token` as a bearer token when given.
    ///
    /// # Errors
    /// [`RemoteError::InvalidUrl`]; [`RemoteError::Http`] when the HTTP client cannot start.
    pub(crate) fn new(server: &str, token: Option<String>) -> Result<Self, RemoteError> {
        let trimmed = server.trim().trim_end_matches('/');
        let host = trimmed
            .strip_prefix("http://")
            .or_else(|| trimmed.strip_prefix("https://"));
        if host.is_none_or(str::is_empty) {
            return Err(RemoteError::InvalidUrl(server.chars().take(200).collect()));
        }
        let base = if trimmed.ends_with(PREFIX) {
            trimmed.to_owned()
        } else {
            format!("{trimmed}{PREFIX}")
        };
        // Marks every call as an API client's, not a web form's (see `same_site`).
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            cogman_api::CLIENT_HEADER,
            reqwest::header::HeaderValue::from_static("cogman-remote"),
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(CALL_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(RemoteError::Http)?;
        Ok(RemoteClient { http, base, token })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(token) => builder.bearer_auth(token),
            None => builder,
        }
    }

    /// Sends the request and reads a JSON answer, or the error body.
    async fn call<T: DeserializeOwned>(builder: RequestBuilder) -> Result<T, RemoteError> {
        let bytes = Self::call_bytes(builder).await?;
        serde_json::from_slice(&bytes).map_err(|e| RemoteError::Decode(e.to_string()))
    }

    /// Sends the request and expects a success without a body to read.
    async fn call_empty(builder: RequestBuilder) -> Result<(), RemoteError> {
        Self::call_bytes(builder).await.map(drop)
    }

    /// Sends the request and returns a successful answer's body, or the error body.
    async fn call_bytes(builder: RequestBuilder) -> Result<Vec<u8>, RemoteError> {
        let response = builder.send().await.map_err(RemoteError::Http)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(RemoteError::Http)?;
        if status.is_success() {
            return Ok(bytes.to_vec());
        }
        Err(match serde_json::from_slice::<ErrorBody>(&bytes) {
            Ok(body) => RemoteError::Api {
                status: status.as_u16(),
                code: body.error,
                message: body.message,
            },
            Err(_) => RemoteError::Api {
                status: status.as_u16(),
                code: "unknown".into(),
                message: status.canonical_reason().unwrap_or("error").into(),
            },
        })
    }

    /// Sends a task (`POST /tasks`).
    ///
    /// # Errors
    /// [`RemoteError::Api`] with 422 for an invalid task (nothing was written), or any
    /// transport error.
    pub(crate) async fn send(&self, spec: &TaskSpec) -> Result<SendReceipt, RemoteError> {
        let builder = self
            .request(Method::POST, "/tasks")
            .json(&SendTaskRequest::from_spec(spec));
        Ok(Self::call::<SendResponse>(builder).await?.into())
    }

    /// A task, its attempts and history (`GET /tasks/{id}`).
    ///
    /// # Errors
    /// [`RemoteError::Api`] with 404 when there is no such task.
    pub(crate) async fn get(&self, id: TaskId) -> Result<TaskDetails, RemoteError> {
        let details: cogman_api::model::TaskDetails =
            Self::call(self.request(Method::GET, &format!("/tasks/{id}"))).await?;
        Ok(details.try_into()?)
    }

    /// One page of tasks (`GET /tasks`).
    ///
    /// # Errors
    /// [`RemoteError::Api`] with 400 for a bad filter.
    pub(crate) async fn list(
        &self,
        filter: &TaskFilter,
        page: PageRequest,
    ) -> Result<Page, RemoteError> {
        let page: TaskPage = Self::call(
            self.request(Method::GET, "/tasks")
                .query(&list_query(filter, page)),
        )
        .await?;
        Ok(page.try_into()?)
    }

    /// Runs a finished task again with `retry` retries of its own (`POST /tasks/{id}/retry`).
    ///
    /// # Errors
    /// [`RemoteError::Api`] with 404, or 409 when the task has not finished.
    pub(crate) async fn retry(&self, id: TaskId, retry: u32) -> Result<SendReceipt, RemoteError> {
        let builder = self
            .request(Method::POST, &format!("/tasks/{id}/retry"))
            .json(&RetryRequest { retry: Some(retry) });
        Ok(Self::call::<SendResponse>(builder).await?.into())
    }

    /// Cancels a task that has not finished (`POST /tasks/{id}/cancel`); returns it.
    ///
    /// # Errors
    /// [`RemoteError::Api`] with 404, or 409 when the task already finished.
    pub(crate) async fn cancel(&self, id: TaskId) -> Result<Task, RemoteError> {
        let view: TaskView =
            Self::call(self.request(Method::POST, &format!("/tasks/{id}/cancel"))).await?;
        Ok(view.try_into()?)
    }

    /// One page of dead letters (`GET /dead-letters`).
    ///
    /// # Errors
    /// Any transport error, or 400 for a bad page.
    pub(crate) async fn dead_letters(
        &self,
        before: Option<u64>,
        limit: u32,
    ) -> Result<DeadLetterList, RemoteError> {
        let mut query = vec![("limit", limit.to_string())];
        if let Some(before) = before {
            query.push(("before", before.to_string()));
        }
        Self::call(self.request(Method::GET, "/dead-letters").query(&query)).await
    }

    /// Sends a dead letter's task again (`POST /dead-letters/{id}/requeue`).
    ///
    /// # Errors
    /// [`RemoteError::Api`] with 404, or 409 when it holds no task.
    pub(crate) async fn requeue_dead_letter(&self, id: u64) -> Result<SendReceipt, RemoteError> {
        let builder = self.request(Method::POST, &format!("/dead-letters/{id}/requeue"));
        Ok(Self::call::<SendResponse>(builder).await?.into())
    }

    /// Deletes one dead letter (`DELETE /dead-letters/{id}`).
    ///
    /// # Errors
    /// [`RemoteError::Api`] with 404.
    pub(crate) async fn remove_dead_letter(&self, id: u64) -> Result<(), RemoteError> {
        let builder = self.request(Method::DELETE, &format!("/dead-letters/{id}"));
        Self::call_empty(builder).await
    }

    /// Every schedule and the scheduler's leader (`GET /schedules`).
    ///
    /// # Errors
    /// Any transport error, or 409 when the server's task log keeps no schedules.
    pub(crate) async fn schedules(&self) -> Result<ScheduleList, RemoteError> {
        Self::call(self.request(Method::GET, "/schedules")).await
    }

    /// Deletes every dead letter (`DELETE /dead-letters`); returns how many.
    ///
    /// # Errors
    /// Any transport error, or 403 for a read-only token.
    pub(crate) async fn purge_dead_letters(&self) -> Result<u64, RemoteError> {
        let answer: PurgedDeadLetters =
            Self::call(self.request(Method::DELETE, "/dead-letters")).await?;
        Ok(answer.purged)
    }
}

/// The query string of `GET /tasks` for a filter and page.
fn list_query(filter: &TaskFilter, page: PageRequest) -> Vec<(&'static str, String)> {
    let mut query: Vec<(&'static str, String)> = filter
        .statuses
        .iter()
        .map(|s| ("status", s.as_str().to_owned()))
        .collect();
    let optional = [
        ("name", filter.name.clone()),
        ("primary_key", filter.primary_key.clone()),
        (
            "original_task_id",
            filter.original_task_id.map(|id| id.to_string()),
        ),
        ("created_from", filter.created_from.map(|t| t.to_rfc3339())),
        ("created_to", filter.created_to.map(|t| t.to_rfc3339())),
        ("after", page.after.map(|c| c.to_string())),
    ];
    query.extend(
        optional
            .into_iter()
            .filter_map(|(key, value)| value.map(|v| (key, v))),
    );
    query.push((
        "limit",
        page.limit.clamp(1, PageRequest::MAX_LIMIT).to_string(),
    ));
    query
}

#[cfg(test)]
mod tests;
