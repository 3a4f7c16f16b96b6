//! A task and its attempts as one over RabbitMQ, Redis and PostgreSQL: the scenarios of
//! `support/attempts.rs`, each on a queue prefix, namespace and schema of its own.

use cogman::Cogman;

use crate::harness::{AMQP, Env, POSTGRES, REDIS};
use crate::support::attempts;

/// Client and worker on the shared servers, isolated for this test.
async fn start(label: &str) -> (Env, Cogman) {
    let env = Env::new(label, AMQP, Some(REDIS), Some(POSTGRES));
    let cogman = crate::support::start_with(&env.config).await;
    (env, cogman)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_attempt_id_shows_the_chain_outcome() {
    let (_env, cogman) = start("chain_outcome").await;
    attempts::any_attempt_id_shows_the_chain_outcome(&cogman).await;
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_the_first_id_cancels_the_waiting_retry() {
    let (_env, cogman) = start("chain_cancel").await;
    attempts::cancelling_the_first_id_cancels_the_waiting_retry(&cogman).await;
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_cancelled_while_running_is_not_retried() {
    let (_env, cogman) = start("chain_running").await;
    attempts::a_task_cancelled_while_running_is_not_retried(&cogman).await;
    cogman.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manual_retry_waits_for_the_running_attempt() {
    let (_env, cogman) = start("chain_retry").await;
    attempts::a_manual_retry_waits_for_the_running_attempt(&cogman).await;
    cogman.stop().await;
}
