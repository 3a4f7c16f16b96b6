//! Interoperability: a Python client using pika enqueues a task by following
//! `docs/wire-format.md` (`tests/pika_publish.py`), and the Rust broker consumes it with every
//! field intact. pika is installed from PyPI when it is not importable.

use std::path::Path;
use std::time::Duration;

use cogman_core::workflow::WorkflowKind;
use cogman_core::{Priority, TaskId};
use cogman_testkit::next_within;
use tokio::process::Command;

use crate::common::{Fixture, URI, config};

async fn ensure_pika() {
    let import = Command::new("python3")
        .args(["-c", "import pika"])
        .output()
        .await
        .expect("python3 runs");
    if import.status.success() {
        return;
    }
    let install = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "pika"])
        .output()
        .await
        .expect("pip runs");
    assert!(install.status.success(), "pip install pika: {install:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_published_by_pika_is_consumed_with_every_field() {
    ensure_pika().await;
    let fx = Fixture::start(config("pika")).await;
    let queue = fx.topology().queues(Priority::High)[0].to_string();
    let id = TaskId::new();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pika_publish.py");
    let output = Command::new("python3")
        .arg(&script)
        .args([URI, queue.as_str(), &id.to_string()])
        .output()
        .await
        .expect("the pika script runs");
    assert!(output.status.success(), "pika_publish.py: {output:?}");

    let mut consumer = fx.consumer().await;
    let delivery = next_within(&mut *consumer, Duration::from_secs(10))
        .await
        .expect("the pika task");
    let task = delivery.task();
    assert_eq!(task.id, id);
    assert_eq!(task.name, "pika.hello");
    assert_eq!(task.payload, b"\x00hello from pika\xff");
    assert_eq!(task.priority, Priority::High);
    assert_eq!((task.retry, task.attempt), (2, 0));
    assert_eq!(task.original_task_id, id);
    assert_eq!(task.primary_key.as_deref(), Some("py-1"));
    assert_eq!(task.timeout_ms, Some(1500));
    assert_eq!(task.run_at, None);
    let age = chrono::Utc::now() - task.created_at;
    assert!(
        age >= chrono::Duration::zero() && age < chrono::Duration::minutes(1),
        "created_at {}",
        task.created_at
    );
    let workflow = task.workflow.as_ref().expect("workflow link");
    assert_eq!((workflow.kind, workflow.size), (WorkflowKind::Group, 1));
    assert_eq!(delivery.delivery_count(), 1);
    delivery.ack().await.expect("ack");
}
