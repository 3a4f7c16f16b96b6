//! The macros that turn the conformance suites into one `#[tokio::test]` per behaviour in a
//! backend's test crate: [`task_log_conformance!`](crate::task_log_conformance) and
//! [`broker_conformance!`](crate::broker_conformance).

/// Expands to `mod task_log_conformance` with one `#[tokio::test]` per
/// [`task_log_suite`](crate::task_log_suite) behaviour. The argument is an expression (usually
/// an `async` block) evaluated once per test that yields a fresh, isolated
/// [`LogFixture`](crate::LogFixture), e.g. an `Arc` of the backend:
///
/// ```text
/// cogman_testkit::task_log_conformance!(async { std::sync::Arc::new(make_isolated_log().await) });
/// ```
///
/// Items of the calling module are visible inside the expression. The test crate does not need
/// its own tokio dependency.
#[macro_export]
macro_rules! task_log_conformance {
    ($factory:expr $(,)?) => {
        $crate::__conformance_tests!(task_log_conformance, task_log_suite, $factory;
            create_then_get_round_trips,
            record_applies_forward_changes,
            record_replay_is_unchanged,
            record_stale_change_changes_nothing,
            record_follows_the_rule_for_every_pair_of_states,
            record_unknown_id_is_missing,
            create_never_moves_a_task_backwards,
            record_transient_answers_as_record_does,
            held_change_is_read_back_at_once,
            held_changes_apply_before_later_changes_of_their_task,
            held_changes_follow_the_transition_rule,
            flush_writes_every_held_change,
            held_change_is_written_when_its_time_is_up,
            concurrent_out_of_order_writes_end_in_the_final_state,
            racing_creates_of_one_attempt_store_exactly_one,
            list_filters_by_status,
            list_filters_by_name_key_and_original,
            list_filters_by_creation_time,
            list_pages_newest_first_without_gaps,
            oldest_returns_the_oldest_matching_tasks_first,
            list_refuses_filters_no_task_can_match,
            counts_all_per_state,
            counts_per_bucket,
            history_lists_applied_changes_oldest_first,
            notes_are_kept_in_the_history_in_order,
            notes_are_bounded_per_task_and_need_a_record,
            a_note_follows_the_changes_held_before_it,
            purge_deletes_only_old_final_tasks,
            purge_keeps_old_attempts_while_the_chain_runs,
            outbox_claims_only_old_initiated_tasks,
            outbox_concurrent_claimers_are_disjoint,
            outbox_claim_is_leased,
            outbox_never_returns_queued_tasks,
            worker_registry_heartbeat_list_deregister,
            dead_letters_store_list_remove_and_purge,
            schedule_store_put_list_pause_remove,
            schedule_lease_has_one_holder_until_it_expires,
            schedule_slot_is_claimed_once,
            unique_concurrent_claims_create_exactly_one_task,
            unique_key_is_released_by_its_holder_only,
            unique_key_held_for_a_time_expires,
            queue_pauses_pause_list_resume,
            limits_put_list_remove,
            limits_rate_admits_the_burst_then_reserves,
            limits_concurrency_holds_leases,
            limits_concurrent_acquirers_respect_the_concurrency,
        );
    };
}

/// Expands to `mod broker_conformance` with one `#[tokio::test]` per
/// [`broker_suite`](crate::broker_suite) behaviour. The argument is an expression (usually an
/// `async` block) evaluated once per test that yields a fresh, isolated
/// [`BrokerFixture`](crate::BrokerFixture), e.g. an `Arc` of the backend:
///
/// ```text
/// cogman_testkit::broker_conformance!(async { std::sync::Arc::new(make_isolated_broker().await) });
/// ```
#[macro_export]
macro_rules! broker_conformance {
    ($factory:expr $(,)?) => {
        $crate::__conformance_tests!(broker_conformance, broker_suite, $factory;
            publish_then_consume_round_trips,
            ack_removes_the_task,
            requeue_delivers_again,
            unsettled_delivery_comes_back,
            extended_lease_keeps_the_delivery_claimed,
            dead_letter_removes_the_task_for_good,
            high_priority_is_delivered_first,
            delayed_task_waits_for_run_at,
            short_delay_is_not_blocked_by_long_delay,
            two_consumers_get_each_task_exactly_once,
            consume_after_close_fails,
            queue_stats_count_ready_and_scheduled_tasks_per_priority,
            queue_stats_follow_deliveries_and_dead_letters,
            a_consumer_gets_only_the_named_queues_it_serves,
            delayed_task_to_a_named_queue_arrives,
        );
    };
}

/// One test per suite function; shared by the two public macros.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    ($module:ident, $suite:ident, $factory:expr; $($behaviour:ident),* $(,)?) => {
        #[allow(unused_imports)]
        mod $module {
            use super::*;
            $(
                #[$crate::__private::tokio::test(
                    flavor = "multi_thread",
                    worker_threads = 2,
                    crate = "cogman_testkit::__private::tokio"
                )]
                async fn $behaviour() {
                    $crate::$suite::$behaviour(|| $factory).await;
                }
            )*
        }
    };
}
