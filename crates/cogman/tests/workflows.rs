//! End-to-end tests of workflows on the embedded SQLite backend: chains pass results along and
//! stop at a failure, group status follows retries, chords fire their callback exactly once
//! (also when members' outcomes were recorded by workers that died before firing), fail it
//! when a member fails, and invalid workflows write nothing.

mod support;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use cogman::{
    ChordResult, Client, Config, Error, PageRequest, StateChange, TaskError, TaskFilter, TaskSpec,
    TaskState, ValidationError, WorkflowKind, handler_fn,
};
use cogman_testkit::wait_until;

use support::{
    WAIT, appender, collector, config, counting, ended, named, number, oldest_first, squarer,
    start, start_with, wait_group_done, wait_last_final,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_passes_each_result_to_the_next_step_in_order() {
    let (_dir, cogman) = start().await;
    let ran = Arc::new(Mutex::new(Vec::new()));
    for (name, tag) in [("step.a", "a"), ("step.b", "b"), ("step.c", "c")] {
        cogman
            .register(name, appender(tag, &ran))
            .expect("register");
    }
    let client = cogman.client();
    let steps = vec![
        TaskSpec::new("step.a", b"x".to_vec()).primary_key("chain-1"),
        TaskSpec::new("step.b", Vec::new()).retry(2),
        TaskSpec::new("step.c", Vec::new()).primary_key("chain-1-last"),
    ];
    let receipt = client.send_chain(steps).await.expect("send chain");
    let last = wait_last_final(client, &named("step.c")).await;
    assert_eq!(last.status, TaskState::Success, "{last:?}");
    assert_eq!(last.result.as_deref(), Some(b"xabc".as_slice()));
    assert_eq!(
        last.payload, b"xab",
        "the last step received the second step's result"
    );
    assert_eq!(last.primary_key.as_deref(), Some("chain-1-last"));
    assert_eq!(*ran.lock().expect("lock"), ["a", "b", "c"]);
    let second = oldest_first(client, &named("step.b")).await;
    assert_eq!(second.len(), 1);
    assert_eq!(
        (second[0].payload.as_slice(), second[0].retry),
        (b"xa".as_slice(), 2)
    );
    let first = client
        .get(receipt.first.id)
        .await
        .expect("get")
        .expect("first step recorded");
    for (n, step) in [&first, &second[0], &last].into_iter().enumerate() {
        let link = step.workflow.as_ref().expect("every step carries its link");
        assert_eq!(
            (link.workflow_id, link.kind, link.size),
            (receipt.workflow_id, WorkflowKind::Chain, 3)
        );
        assert_eq!(link.index, Some(u32::try_from(n).expect("small")));
        assert_eq!(
            link.then.len(),
            2 - n,
            "each step carries the steps after it"
        );
    }
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_middle_step_is_retried_then_ends_the_chain() {
    let (_dir, cogman) = start().await;
    let ran = Arc::new(Mutex::new(Vec::new()));
    cogman
        .register("chain.first", appender("1", &ran))
        .expect("register");
    cogman
        .register("chain.third", appender("3", &ran))
        .expect("register");
    let middle_runs = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&middle_runs);
    cogman
        .register(
            "chain.middle",
            handler_fn(move |ctx, payload: Vec<u8>| {
                counter.fetch_add(1, Ordering::SeqCst);
                // Attempts 0 and 1 (the chain's own) fail; a retry by hand (attempt 2) succeeds.
                async move {
                    if ctx.attempt < 2 {
                        Err(TaskError::retry("the middle fails"))
                    } else {
                        Ok([payload, b"2".to_vec()].concat())
                    }
                }
            }),
        )
        .expect("register");
    let client = cogman.client();
    let steps = vec![
        TaskSpec::new("chain.first", b"go".to_vec()),
        TaskSpec::new("chain.middle", Vec::new()).retry(1),
        TaskSpec::new("chain.third", Vec::new()),
    ];
    client.send_chain(steps).await.expect("send chain");
    let last = wait_last_final(client, &named("chain.middle")).await;
    assert_eq!(last.status, TaskState::Failed, "{last:?}");
    let attempts = oldest_first(client, &named("chain.middle")).await;
    assert_eq!(attempts.len(), 2, "run once and retried once");
    assert_eq!(attempts[0].status, TaskState::Retry);
    assert_eq!(
        attempts[1].workflow, attempts[0].workflow,
        "a retry keeps its link"
    );
    assert_eq!(middle_runs.load(Ordering::SeqCst), 2);
    // The next step is sent before a success is recorded, so a final failure means none was.
    assert!(
        oldest_first(client, &named("chain.third")).await.is_empty(),
        "the third step was never created"
    );
    assert_eq!(*ran.lock().expect("lock"), ["1"]);
    // Retrying the failed step by hand resumes the chain from there.
    client
        .retry(last.id, 0)
        .await
        .expect("retry the failed step");
    let third = wait_last_final(client, &named("chain.third")).await;
    assert_eq!(third.status, TaskState::Success, "{third:?}");
    assert_eq!(third.result.as_deref(), Some(b"go123".as_slice()));
    assert_eq!(middle_runs.load(Ordering::SeqCst), 3);
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_status_counts_each_members_latest_attempt() {
    let (_dir, cogman) = start().await;
    cogman
        .register(
            "grp",
            handler_fn(|ctx, payload: Vec<u8>| async move {
                let i: u32 = number(&payload)?;
                match (i % 4, ctx.attempt) {
                    (0, _) => Err(TaskError::fail("multiples of four fail")),
                    (1, 0) => Err(TaskError::retry("fails once, then succeeds")),
                    _ => Ok(i.to_string()),
                }
            }),
        )
        .expect("register");
    let client = cogman.client();
    let tasks = (0..20u32)
        .map(|i| TaskSpec::new("grp", i.to_string().into_bytes()).retry(1))
        .collect();
    let receipt = client.send_group(tasks).await.expect("send group");
    assert_eq!(receipt.members.len(), 20);
    let status = wait_group_done(client, &receipt.ids()).await;
    assert_eq!(status.count(TaskState::Success), 15, "{status:?}");
    assert_eq!(status.count(TaskState::Failed), 5, "{status:?}");
    assert_eq!(
        status.counts.total(),
        20,
        "a retried member counts once: {status:?}"
    );
    assert_eq!(status.missing, 0);
    assert_eq!(
        oldest_first(client, &named("grp")).await.len(),
        25,
        "five members ran twice"
    );
    for (i, member) in (0u32..).zip(&receipt.members) {
        let task = client
            .get(member.id)
            .await
            .expect("get")
            .expect("member recorded");
        let link = task.workflow.expect("member link");
        assert_eq!(
            (link.workflow_id, link.kind, link.size, link.index),
            (receipt.workflow_id, WorkflowKind::Group, 20, Some(i))
        );
        assert_eq!(
            member.id,
            cogman::workflow::member_id(receipt.workflow_id, i)
        );
    }
    let unknown = client
        .group_status(&[cogman::TaskId::new()])
        .await
        .expect("status");
    assert_eq!((unknown.missing, unknown.done), (1, false));
    cogman.stop().await;
}

/// Registers `square` members (member 3 fails its first attempt) and a `sum` callback that
/// records every payload it receives.
fn register_chord_handlers(cogman: &cogman::Cogman, payloads: &Arc<Mutex<Vec<Vec<u8>>>>) {
    cogman
        .register("square", squarer(Some(3)))
        .expect("register");
    let seen = Arc::clone(payloads);
    cogman
        .register(
            "sum",
            handler_fn(move |_ctx, payload: Vec<u8>| {
                seen.lock().expect("lock").push(payload.clone());
                async move {
                    let results =
                        ChordResult::parse(&payload).map_err(|e| TaskError::fail(e.to_string()))?;
                    let sum: u64 = results
                        .iter()
                        .filter_map(|r| r.result.as_deref()?.parse::<u64>().ok())
                        .sum();
                    Ok::<_, TaskError>(sum.to_string())
                }
            }),
        )
        .expect("register");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chord_callback_runs_once_with_every_result_in_member_order() {
    let (_dir, cogman) = start().await;
    let payloads = Arc::new(Mutex::new(Vec::new()));
    register_chord_handlers(&cogman, &payloads);
    let client = cogman.client();
    let members = (0..10u64)
        .map(|i| TaskSpec::new("square", i.to_string().into_bytes()).retry(1))
        .collect();
    let receipt = client
        .send_chord(members, TaskSpec::new("sum", Vec::new()))
        .await
        .expect("send chord");
    let callback = ended(client, receipt.callback_id).await;
    assert_eq!(callback.status, TaskState::Success, "{callback:?}");
    assert_eq!(
        callback.result.as_deref(),
        Some(b"285".as_slice()),
        "0² + 1² + … + 9²"
    );
    let status = wait_group_done(client, &receipt.ids()).await;
    assert_eq!(status.count(TaskState::Success), 10);
    cogman.stop().await;
    let payloads = payloads.lock().expect("lock").clone();
    assert_eq!(payloads.len(), 1, "the callback ran exactly once");
    let results = ChordResult::parse(&payloads[0]).expect("the payload is a JSON array of results");
    assert_eq!(results.len(), 10);
    for (i, (result, member)) in results.iter().zip(&receipt.members).enumerate() {
        let square = (i * i).to_string();
        assert_eq!(
            result.task_id, member.id,
            "member order, member ids (also for the retried member)"
        );
        assert_eq!(result.result.as_deref(), Some(square.as_str()));
        assert_eq!(result.bytes.as_deref(), Some(square.as_bytes()));
    }
    let raw: serde_json::Value = serde_json::from_slice(&payloads[0]).expect("JSON");
    assert_eq!(raw[2]["result"], "4");
    assert_eq!(raw[2]["result_base64"], "NA==");
    let link = callback
        .workflow
        .expect("the callback is linked to its chord");
    assert_eq!(
        (link.workflow_id, link.kind, link.index),
        (receipt.workflow_id, WorkflowKind::Chord, None)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chord_with_a_failed_member_records_its_callback_failed_and_never_runs_it() {
    let (_dir, cogman) = start().await;
    let callback_runs = Arc::new(AtomicU32::new(0));
    cogman
        .register(
            "member",
            handler_fn(|_ctx, payload: Vec<u8>| async move {
                if payload == b"broken" {
                    Err(TaskError::fail("broken member"))
                } else {
                    Ok(payload)
                }
            }),
        )
        .expect("register");
    cogman
        .register("never.called", counting(&callback_runs))
        .expect("register");
    let client = cogman.client();
    let members = ["a", "b", "broken", "d", "e"]
        .map(|p| TaskSpec::new("member", p.as_bytes().to_vec()).retry(2))
        .to_vec();
    let receipt = client
        .send_chord(members, TaskSpec::new("never.called", Vec::new()))
        .await
        .expect("send chord");
    let broken = receipt.members[2].id;
    let callback = ended(client, receipt.callback_id).await;
    assert_eq!(callback.status, TaskState::Failed, "{callback:?}");
    let reason = callback.fail_error.as_deref().unwrap_or_default();
    assert!(
        reason.contains(&format!("chord member {broken} failed: broken member")),
        "{reason}"
    );
    let status = wait_group_done(client, &receipt.ids()).await;
    assert_eq!(
        (
            status.count(TaskState::Success),
            status.count(TaskState::Failed)
        ),
        (4, 1)
    );
    assert_eq!(
        oldest_first(client, &named("member")).await.len(),
        5,
        "a permanent failure is not retried"
    );
    cogman.stop().await;
    assert_eq!(
        callback_runs.load(Ordering::SeqCst),
        0,
        "the callback never ran"
    );
    let history = cogman
        .client()
        .log()
        .history(receipt.callback_id)
        .await
        .expect("history");
    assert!(
        history.iter().all(|c| c.state != TaskState::InProgress),
        "{history:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_recorded_by_workers_that_died_before_firing_still_fire_the_callback_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A client alone sends the chord: the members wait in the queue.
    let sender = Client::connect(&config(&dir))
        .await
        .expect("client connects");
    let members = (0..10u64)
        .map(|i| TaskSpec::new("square", i.to_string().into_bytes()))
        .collect();
    let receipt = sender
        .send_chord(members, TaskSpec::new("sum", Vec::new()))
        .await
        .expect("send chord");
    // Workers recorded every member's success, then died before firing (and before acking).
    for (i, member) in (0u64..).zip(&receipt.members) {
        let change = StateChange::new(member.id, TaskState::Success)
            .result(Some((i * 100).to_string().into_bytes()));
        sender.log().record(&change).await.expect("record success");
    }
    assert!(
        sender
            .get(receipt.callback_id)
            .await
            .expect("get")
            .is_none(),
        "not fired yet"
    );
    sender.close().await;
    // A worker starts: every member delivery comes again, all at once, to a finished task.
    let member_runs = Arc::new(AtomicU32::new(0));
    let cogman = start_with(&Config {
        concurrency: 10,
        ..config(&dir)
    })
    .await;
    let payloads = Arc::new(Mutex::new(Vec::new()));
    cogman
        .register("square", counting(&member_runs))
        .expect("register");
    cogman
        .register("sum", collector(&payloads, "collected"))
        .expect("register");
    let client = cogman.client();
    let callback = ended(client, receipt.callback_id).await;
    assert_eq!(callback.status, TaskState::Success, "{callback:?}");
    // Every member delivery is settled (seen as a duplicate of a finished task) before counting runs.
    let worker = cogman.worker().clone();
    wait_until("every member delivery to be settled", WAIT, || {
        let worker = worker.clone();
        async move { worker.stats().duplicates >= 10 }
    })
    .await
    .expect("member deliveries settle");
    cogman.stop().await;
    assert_eq!(
        member_runs.load(Ordering::SeqCst),
        0,
        "finished members are not run again"
    );
    let payloads = payloads.lock().expect("lock").clone();
    assert_eq!(payloads.len(), 1, "the callback ran exactly once");
    let results = ChordResult::parse(&payloads[0]).expect("results");
    let expected: Vec<String> = (0..10u64).map(|i| (i * 100).to_string()).collect();
    let got: Vec<String> = results.iter().filter_map(|r| r.result.clone()).collect();
    assert_eq!(got, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_workflows_are_refused_and_write_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let client = Client::connect(&Config {
        max_payload_bytes: 16,
        ..config(&dir)
    })
    .await
    .expect("connects");
    let ok = || TaskSpec::new("ok", Vec::new());
    let step_error = |result: Result<_, Error>| match result {
        Err(Error::Validation(ValidationError::WorkflowTask { task, error })) => {
            Some((task, *error))
        }
        _ => None,
    };
    let bad_step = client
        .send_chain(vec![ok(), TaskSpec::new("", Vec::new()), ok()])
        .await
        .map(|_| ());
    assert_eq!(
        step_error(bad_step),
        Some(("chain step 2 of 3".to_owned(), ValidationError::EmptyName))
    );
    let big = client
        .send_group(vec![ok(), ok(), TaskSpec::new("ok", vec![0; 17])])
        .await
        .map(|_| ());
    assert!(
        matches!(step_error(big), Some((task, ValidationError::PayloadTooLarge { .. })) if task == "group member 3 of 3")
    );
    let bad_callback = client
        .send_chord(vec![ok()], TaskSpec::new("bad\u{7}", Vec::new()))
        .await
        .map(|_| ());
    assert!(matches!(step_error(bad_callback), Some((task, _)) if task == "chord callback"));
    let refused = |result: Result<(), Error>| {
        matches!(
            result,
            Err(Error::Validation(ValidationError::InvalidWorkflow(_)))
        )
    };
    assert!(
        refused(client.send_chain(Vec::new()).await.map(|_| ())),
        "an empty chain"
    );
    assert!(
        refused(client.send_chain(vec![ok(); 101]).await.map(|_| ())),
        "101 steps"
    );
    assert!(
        refused(client.send_group(Vec::new()).await.map(|_| ())),
        "an empty group"
    );
    assert!(
        refused(client.send_group(vec![ok(); 1001]).await.map(|_| ())),
        "1001 members"
    );
    assert!(
        refused(client.send_chord(Vec::new(), ok()).await.map(|_| ())),
        "a chord without members"
    );
    assert!(
        refused(
            client
                .send_chain(vec![ok(), TaskSpec::new("ok", b"x".to_vec())])
                .await
                .map(|_| ())
        ),
        "a later step's payload is the previous result"
    );
    assert!(
        refused(
            client
                .send_chord(vec![ok()], TaskSpec::new("ok", b"x".to_vec()))
                .await
                .map(|_| ())
        ),
        "the callback's payload is the members' results"
    );
    let mut linked = ok();
    linked.workflow = Some(cogman::WorkflowLink {
        workflow_id: cogman::TaskId::new(),
        kind: WorkflowKind::Group,
        size: 1,
        then: Vec::new(),
        index: Some(0),
        callback_id: None,
    });
    assert!(
        refused(client.send_group(vec![linked]).await.map(|_| ())),
        "a link set by the caller"
    );
    let page = client
        .log()
        .list(&TaskFilter::default(), PageRequest::first(10))
        .await
        .expect("list");
    assert!(
        page.items.is_empty(),
        "nothing was written: {:?}",
        page.items
    );
    client.close().await;
}
