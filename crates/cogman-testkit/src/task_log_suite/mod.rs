//! The [`TaskLog`](cogman_core::TaskLog) conformance suite: one public async function per
//! behaviour, each taking a [`LogFactory`](crate::LogFactory) that builds a fresh isolated log.
//! Run them all with [`task_log_conformance!`](crate::task_log_conformance).
//!
//! The held-back changes (`record_behind`, `flush`) and `record_transient` are checked on every
//! log: a log that keeps the trait's defaults (applying at once) passes them as they are.
//!
//! Optional abilities ([`Outbox`](cogman_core::Outbox),
//! [`WorkerRegistry`](cogman_core::WorkerRegistry)) are checked when the log offers them; a
//! log that returns `None` has nothing to check there (a property of the backend, printed).
//!
//! The functions panic (through assertions) on the first difference, like any test.

mod attempts;
mod concurrency;
mod counts;
mod dead_letters;
mod held;
mod history;
mod limits;
mod listing;
mod notes;
mod outbox;
mod pauses;
mod record;
mod schedules;
mod transient;
mod unique;
mod workers;

pub use attempts::racing_creates_of_one_attempt_store_exactly_one;
pub use concurrency::concurrent_out_of_order_writes_end_in_the_final_state;
pub use counts::{counts_all_per_state, counts_per_bucket};
pub use dead_letters::dead_letters_store_list_remove_and_purge;
pub use held::{
    WRITE_DEADLINE, flush_writes_every_held_change, held_change_is_read_back_at_once,
    held_change_is_written_when_its_time_is_up,
    held_changes_apply_before_later_changes_of_their_task, held_changes_follow_the_transition_rule,
};
pub use history::{
    history_lists_applied_changes_oldest_first, purge_deletes_only_old_final_tasks,
    purge_keeps_old_attempts_while_the_chain_runs,
};
pub use limits::{
    limits_concurrency_holds_leases, limits_concurrent_acquirers_respect_the_concurrency,
    limits_put_list_remove, limits_rate_admits_the_burst_then_reserves,
};
pub use listing::{
    list_filters_by_creation_time, list_filters_by_name_key_and_original, list_filters_by_status,
    list_pages_newest_first_without_gaps, list_refuses_filters_no_task_can_match,
    oldest_returns_the_oldest_matching_tasks_first,
};
pub use notes::{
    a_note_follows_the_changes_held_before_it, notes_are_bounded_per_task_and_need_a_record,
    notes_are_kept_in_the_history_in_order,
};
pub use outbox::{
    outbox_claim_is_leased, outbox_claims_only_old_initiated_tasks,
    outbox_concurrent_claimers_are_disjoint, outbox_never_returns_queued_tasks,
};
pub use pauses::queue_pauses_pause_list_resume;
pub use record::{
    create_never_moves_a_task_backwards, create_then_get_round_trips,
    record_applies_forward_changes, record_follows_the_rule_for_every_pair_of_states,
    record_replay_is_unchanged, record_stale_change_changes_nothing, record_unknown_id_is_missing,
};
pub use schedules::{
    schedule_lease_has_one_holder_until_it_expires, schedule_slot_is_claimed_once,
    schedule_store_put_list_pause_remove,
};
pub use transient::record_transient_answers_as_record_does;
pub use unique::{
    unique_concurrent_claims_create_exactly_one_task, unique_key_held_for_a_time_expires,
    unique_key_is_released_by_its_holder_only,
};
pub use workers::worker_registry_heartbeat_list_deregister;

use cogman_core::{StateChange, Task, TaskId, TaskLog, TaskState};

/// Creates every task, failing the test on an error.
pub(crate) async fn create_all(log: &dyn TaskLog, tasks: &[Task]) {
    for task in tasks {
        log.create(task)
            .await
            .unwrap_or_else(|err| panic!("create {}: {err}", task.id));
    }
}

/// Reads a task that must exist.
pub(crate) async fn must_get(log: &dyn TaskLog, task: &Task) -> Task {
    log.get(task.id)
        .await
        .unwrap_or_else(|err| panic!("get {}: {err}", task.id))
        .unwrap_or_else(|| panic!("task {} has no record", task.id))
}

/// The history of `id` without its leading entry for the creation, which a log may keep.
pub(crate) async fn recorded_changes(log: &dyn TaskLog, id: TaskId) -> Vec<StateChange> {
    let mut history = log
        .history(id)
        .await
        .unwrap_or_else(|err| panic!("history {id}: {err}"));
    if history
        .first()
        .is_some_and(|c| c.state == TaskState::Initiated)
    {
        history.remove(0);
    }
    history
}
