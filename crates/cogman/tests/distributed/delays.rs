//! Scheduling through the worker on the shared broker: a task delayed by 1 s runs on time even
//! though a task delayed by 1 h was sent just before it (a short delay never waits behind a
//! long one), and the long one is not run early.

use std::time::Duration;

use cogman::{SendStatus, TaskSpec, TaskState};
use cogman_testkit::wait_for_state;

use crate::harness::{AMQP, Env, TASK, WAIT};
use crate::ledger::Ledger;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_second_delay_sent_after_a_one_hour_delay_runs_on_time() {
    let env = Env::new("delays", AMQP, None, None);
    let ledger = Ledger::default();
    let worker = env.worker(&ledger).await;
    let client = env.client().await;
    let hour = client
        .send_task(TaskSpec::new(TASK, b"hour".to_vec()).delay(Duration::from_secs(3600)))
        .await
        .expect("send");
    let second = client
        .send_task(TaskSpec::new(TASK, b"second".to_vec()).delay(Duration::from_secs(1)))
        .await
        .expect("send");
    assert_eq!(
        (hour.status, second.status),
        (SendStatus::Scheduled, SendStatus::Scheduled)
    );

    let done = wait_for_state(client.log().as_ref(), second.id, TaskState::Success, WAIT)
        .await
        .expect("the 1 s task runs");
    let run_at = done.run_at.expect("a delayed task keeps its run time");
    let history = client.log().history(second.id).await.expect("history");
    let started = history
        .iter()
        .find(|c| c.state == TaskState::InProgress)
        .expect("it started")
        .at;
    assert!(
        started >= run_at,
        "not before its time: started {started}, due {run_at}"
    );
    assert!(
        started - run_at < chrono::Duration::seconds(10),
        "on time, not behind the 1 h task: started {started}, due {run_at}"
    );
    let waiting = client.get(hour.id).await.expect("get").expect("recorded");
    assert_eq!(waiting.status, TaskState::Scheduled, "the 1 h task waits");
    assert_eq!(
        ledger.runs().keys().copied().collect::<Vec<_>>(),
        vec![second.id],
        "only the due task ran"
    );
    worker.stop().await;
    client.close().await;
}
