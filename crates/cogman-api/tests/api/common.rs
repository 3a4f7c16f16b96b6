//! The test harness: an API over a real backend (by default the embedded SQLite file in a
//! temp dir), driven in-process with `oneshot`, plus helpers to read answers and to check
//! that a refused request changed nothing.

use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use cogman::backends::Backends;
use cogman::{Client, Config, PageRequest, Task, TaskFilter, Worker};
use cogman_api::{ApiOptions, ApiState, Role, TokenEntry};
use serde_json::Value;
use tower::ServiceExt as _;

/// An admin token of the token harnesses.
pub(crate) const ADMIN: &str = "admin-token-for-tests-000001";
/// A read-only token of the token harnesses.
pub(crate) const READER: &str = "read-token-for-tests-0000002";

/// How long a test waits for an event.
pub(crate) const WAIT: Duration = Duration::from_secs(10);

/// Tokens for both roles.
pub(crate) fn both_tokens() -> ApiOptions {
    ApiOptions::with_tokens(vec![
        TokenEntry::from_plain(ADMIN, Role::Admin),
        TokenEntry::from_plain(READER, Role::Read),
    ])
}

/// An answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    /// The body as JSON (panics with the body text when it is not).
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The `error` code of an error body.
    pub(crate) fn code(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code in {}", self.json()))
            .to_owned()
    }

    /// Asserts the status, showing the body when it differs.
    pub(crate) fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// The body as text.
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// An API over one backend.
pub(crate) struct Harness {
    _dir: Option<tempfile::TempDir>,
    pub(crate) client: Client,
    pub(crate) worker: Option<Worker>,
    pub(crate) router: Router,
    /// Sent as the bearer token unless a request sets its own.
    pub(crate) token: Option<&'static str>,
}

impl Harness {
    /// No tokens, no worker, embedded backend.
    pub(crate) async fn open() -> Self {
        Self::embedded(ApiOptions::default(), |_| {}).await
    }

    /// Both roles configured; requests use the admin token by default.
    pub(crate) async fn with_tokens() -> Self {
        let mut harness = Self::embedded(both_tokens(), |_| {}).await;
        harness.token = Some(ADMIN);
        harness
    }

    /// The embedded backend in a fresh temp dir; `tune` may change the config.
    pub(crate) async fn embedded(options: ApiOptions, tune: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::embedded(dir.path().join("cogman.db"));
        tune(&mut config);
        let mut harness = Self::from_config(config, options, None).await;
        harness._dir = Some(dir);
        harness
    }

    /// An API over what `config` names, with a started worker when `handlers` is given.
    pub(crate) async fn from_config(
        config: Config,
        options: ApiOptions,
        handlers: Option<&dyn Fn(&Worker)>,
    ) -> Self {
        let backends = Backends::open(&config).await.expect("backends open");
        let client = backends.client(&config);
        let mut state = ApiState::new(client.clone(), options);
        let worker = match handlers {
            Some(register) => {
                let worker = backends.worker_with(&config, client.clone());
                register(&worker);
                state = state.with_worker(worker.clone());
                worker.start().await.expect("worker starts");
                Some(worker)
            }
            None => None,
        };
        Harness {
            _dir: None,
            client,
            worker,
            router: cogman_api::router(state),
            token: None,
        }
    }

    /// Sends a request (adding the default token unless it carries one).
    pub(crate) async fn call(&self, mut request: Request<Body>) -> Reply {
        if let Some(token) = self.token
            && !request.headers().contains_key(header::AUTHORIZATION)
        {
            let value = format!("Bearer {token}").parse().expect("header value");
            request.headers_mut().insert(header::AUTHORIZATION, value);
        }
        self.call_raw(request).await
    }

    /// Sends a request as it is (no default token).
    pub(crate) async fn call_raw(&self, request: Request<Body>) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("the router never fails");
        let status = response.status();
        let headers = response.headers().clone();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        Reply {
            status,
            headers,
            body,
        }
    }

    /// A GET.
    pub(crate) async fn get(&self, uri: &str) -> Reply {
        self.call(Request::get(uri).body(Body::empty()).expect("request"))
            .await
    }

    /// A request with a JSON body.
    pub(crate) async fn json(&self, method: Method, uri: &str, body: &Value) -> Reply {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        self.call(request).await
    }

    /// A POST without a body, marked as an API client's (`X-Cogman-Client`).
    pub(crate) async fn post(&self, uri: &str) -> Reply {
        let request = Request::post(uri)
            .header(cogman_api::CLIENT_HEADER, "tests")
            .body(Body::empty())
            .expect("request");
        self.call(request).await
    }

    /// Sends a task through the API and returns its id.
    pub(crate) async fn send(&self, body: Value) -> String {
        let reply = self
            .json(Method::POST, "/api/v1/tasks", &body)
            .await
            .expect(201);
        reply.json()["id"].as_str().expect("an id").to_owned()
    }

    /// A GET that must answer 200, as JSON.
    pub(crate) async fn get_json(&self, uri: &str) -> Value {
        self.get(uri).await.expect(200).json()
    }

    /// `GET /tasks/{id}`: the task, its attempts and its history.
    pub(crate) async fn details(&self, id: &str) -> Value {
        self.get_json(&format!("/api/v1/tasks/{id}")).await
    }

    /// `POST /tasks/{id}/retry` with a retry budget.
    pub(crate) async fn retry(&self, id: &str, retry: u32) -> Reply {
        let uri = format!("/api/v1/tasks/{id}/retry");
        self.json(Method::POST, &uri, &serde_json::json!({ "retry": retry }))
            .await
    }

    /// Waits until `GET /workers` lists this harness's worker; returns the worker's id.
    pub(crate) async fn wait_worker_listed(&self) -> String {
        let worker_id = self.worker.as_ref().expect("a worker").id().to_owned();
        cogman_testkit::wait_until("the worker to be listed", WAIT, || async {
            let list = self.get_json("/api/v1/workers").await;
            list["workers"]
                .as_array()
                .is_some_and(|w| w.iter().any(|w| w["id"] == worker_id.as_str()))
        })
        .await
        .expect("listed");
        worker_id
    }

    /// Every task in the log, newest first (for "nothing changed" checks).
    pub(crate) async fn snapshot(&self) -> Vec<Task> {
        let page = self
            .client
            .log()
            .list(
                &TaskFilter::default(),
                PageRequest::first(PageRequest::MAX_LIMIT),
            )
            .await
            .expect("list");
        page.items
    }

    /// Stops the worker, if any.
    pub(crate) async fn stop(&self) {
        if let Some(worker) = &self.worker {
            worker.stop().await;
        }
        self.client.close().await;
    }
}

/// How many items a page (`GET /tasks`) holds.
pub(crate) fn item_count(page: &Value) -> usize {
    page["items"].as_array().expect("items").len()
}

/// The states of a task's history (`GET /tasks/{id}`), oldest first.
pub(crate) fn history_states(details: &Value) -> Vec<&str> {
    details["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|c| c["state"].as_str())
        .collect()
}
