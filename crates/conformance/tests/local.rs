//! The conformance suite on the embedded backend (a fresh data dir per test).

pressbot_conformance::conformance_tests!(pressbot_conformance::backends::local;
    workflow_round_trip,
    duplicate_start,
    activity_failure_and_retry_timer,
    heartbeat,
    timed_out_activity_token_is_spent,
    activity_start_to_close_timeout,
    cancel_request_reaches_heartbeat,
    decision_task_timeout,
    list_filters,
    empty_polls,
    unknown_things_are_not_found,
    queue_visibility_and_redelivery,
    receive_batch,
    delayed_message,
    dead_letter_after_max_receives,
    object_put_get_list_copy_delete,
    notification_event_on_put,
);
