//! [`RemoteClient`] against a real API server (`cogman_api::serve_listener` on a loopback
//! port, over the embedded SQLite file): send, get, list, retry and cancel round-trip core
//! types exactly, and API errors come back typed; plus the URL and query checks.

use std::time::Duration;

use cogman::{Priority, SendStatus, TaskState};
use cogman_api::{ApiOptions, ApiState, Role, TokenEntry};
use tokio::sync::oneshot;

use super::*;
use cogman_api::model::ListParams;

const ADMIN: &str = "admin-token-for-remote-tests-01";
const READER: &str = "read-token-for-remote-tests-002";

/// Tokens for both roles.
fn both_tokens() -> ApiOptions {
    ApiOptions::with_tokens(vec![
        TokenEntry::from_plain(ADMIN, Role::Admin),
        TokenEntry::from_plain(READER, Role::Read),
    ])
}

/// A served API; stops when dropped.
struct Server {
    url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), cogman_api::ServeError>>>,
    client: cogman::Client,
    _dir: tempfile::TempDir,
}

impl Server {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let client =
            cogman::Client::connect(&cogman::Config::embedded(dir.path().join("cogman.db")))
                .await
                .expect("client");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let (stop, stopped) = oneshot::channel::<()>();
        let state = ApiState::new(client.clone(), both_tokens());
        let task = tokio::spawn(cogman_api::serve_listener(listener, state, async move {
            let _ = stopped.await;
        }));
        Server {
            url,
            stop: Some(stop),
            task: Some(task),
            client,
            _dir: dir,
        }
    }

    async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let served = tokio::time::timeout(Duration::from_secs(10), task)
                .await
                .expect("stops")
                .expect("joins");
            assert!(served.is_ok(), "{served:?}");
        }
        self.client.close().await;
    }
}

#[tokio::test]
async fn the_remote_client_round_trips_every_call() {
    let server = Server::start().await;
    let remote = RemoteClient::new(&server.url, Some(ADMIN.into())).expect("client");
    let spec = TaskSpec::new("blob", vec![0, 1, 254, 255])
        .priority(Priority::High)
        .retry(2)
        .primary_key("pk");
    let receipt = remote.send(&spec).await.expect("sent");
    assert_eq!(receipt.status, SendStatus::Queued);

    let details = remote.get(receipt.id).await.expect("found");
    let local = server
        .client
        .get(receipt.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        details.task, local,
        "the remote task is the recorded one, bytes and all"
    );
    assert_eq!(details.attempts, vec![local.clone()]);
    assert_eq!(
        details.history,
        server
            .client
            .log()
            .history(receipt.id)
            .await
            .expect("history")
    );

    let second = remote
        .send(&TaskSpec::new("other", b"{}".to_vec()))
        .await
        .expect("sent");
    let page = remote
        .list(&TaskFilter::default(), PageRequest::first(1))
        .await
        .expect("listed");
    assert_eq!(
        page.items.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![second.id]
    );
    let rest = remote
        .list(
            &TaskFilter::default(),
            PageRequest {
                limit: 10,
                after: page.next,
            },
        )
        .await
        .expect("listed");
    assert_eq!(
        rest.items.iter().map(|t| t.id).collect::<Vec<_>>(),
        vec![receipt.id]
    );
    let filtered = TaskFilter {
        name: Some("blob".into()),
        statuses: vec![TaskState::Queued],
        ..TaskFilter::default()
    };
    assert_eq!(
        remote
            .list(&filtered, PageRequest::first(10))
            .await
            .expect("listed")
            .items
            .len(),
        1
    );

    let cancelled = remote.cancel(receipt.id).await.expect("cancelled");
    assert_eq!(cancelled.status, TaskState::Cancelled);
    let retried = remote.retry(receipt.id, 3).await.expect("retried");
    let attempt = server
        .client
        .get(retried.id)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(
        (attempt.original_task_id, attempt.retry, attempt.attempt),
        (receipt.id, 3, 1)
    );
    server.shutdown().await;
}

#[tokio::test]
async fn remote_errors_carry_status_and_code() {
    let server = Server::start().await;
    let admin = RemoteClient::new(&server.url, Some(ADMIN.into())).expect("client");
    let missing = admin.get(cogman::TaskId::new()).await.expect_err("missing");
    assert!(
        matches!(&missing, RemoteError::Api { status: 404, code, .. } if code == "not_found"),
        "{missing:?}"
    );
    let invalid = admin
        .send(&TaskSpec::new("", Vec::new()))
        .await
        .expect_err("invalid");
    assert!(
        matches!(invalid, RemoteError::Api { status: 422, .. }),
        "{invalid:?}"
    );

    let anonymous = RemoteClient::new(&server.url, None).expect("client");
    let unauthorized = anonymous
        .list(&TaskFilter::default(), PageRequest::first(1))
        .await
        .expect_err("401");
    assert!(
        matches!(unauthorized, RemoteError::Api { status: 401, .. }),
        "{unauthorized:?}"
    );
    let reader = RemoteClient::new(&server.url, Some(READER.into())).expect("client");
    let forbidden = reader
        .send(&TaskSpec::new("a", Vec::new()))
        .await
        .expect_err("403");
    assert!(
        matches!(forbidden, RemoteError::Api { status: 403, .. }),
        "{forbidden:?}"
    );
    assert!(
        server
            .client
            .log()
            .list(&TaskFilter::default(), PageRequest::first(10))
            .await
            .expect("list")
            .items
            .is_empty()
    );

    let nobody = RemoteClient::new("http://127.0.0.1:9", None).expect("client");
    assert!(matches!(
        nobody.get(cogman::TaskId::new()).await,
        Err(RemoteError::Http(_))
    ));
    server.shutdown().await;
}

#[test]
fn urls_are_checked_and_normalised() {
    let plain = RemoteClient::new("http://127.0.0.1:8080/", None).expect("valid");
    assert_eq!(plain.base, "http://127.0.0.1:8080/api/v1");
    let prefixed =
        RemoteClient::new("https://h/api/v1", Some("secret-token".into())).expect("valid");
    assert_eq!(prefixed.base, "https://h/api/v1");
    assert!(!format!("{prefixed:?}").contains("secret-token"));
    for bad in ["127.0.0.1:8080", "ftp://h", "http://"] {
        assert!(
            matches!(
                RemoteClient::new(bad, None),
                Err(RemoteError::InvalidUrl(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn the_list_query_is_what_the_server_parses() {
    let filter = TaskFilter {
        statuses: vec![cogman::TaskState::Queued, cogman::TaskState::Failed],
        name: Some("n".into()),
        primary_key: Some("k".into()),
        original_task_id: Some(TaskId::new()),
        created_from: Some(chrono::Utc::now()),
        created_to: None,
    };
    let page = PageRequest {
        limit: 9,
        after: Some(cogman::Cursor(TaskId::new())),
    };
    let pairs = list_query(&filter, page)
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let parsed = ListParams::from_pairs(pairs)
        .and_then(ListParams::into_query)
        .expect("valid");
    assert_eq!(parsed, (filter, page));
}
