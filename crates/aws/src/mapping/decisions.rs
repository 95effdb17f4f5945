//! Core decisions to SWF's, cut to SWF's limits.

use super::{activity_type, task_list, timeout_to_swf};
use crate::error::AwsError;
use aws_sdk_swf::types as sdk;
use pressbot_core::history::{limits, truncate, Decision};

/// Cut an optional string to SWF's limit: an over-long field makes SWF
/// reject the whole response, leaving the decision task to time out again
/// and again.
fn cut(s: &Option<String>, max: usize) -> Option<String> {
    s.as_deref().map(|s| truncate(s, max))
}

/// Map one core decision to SWF's, cutting strings to SWF's limits.
pub(crate) fn decision_to_sdk(d: &Decision) -> Result<sdk::Decision, AwsError> {
    use sdk::DecisionType as T;
    let bad = |e: aws_sdk_swf::error::BuildError| {
        AwsError::request("swf", "RespondDecisionTaskCompleted", e)
    };
    let b = sdk::Decision::builder();
    let b = match d {
        Decision::ScheduleActivityTask {
            activity_id,
            activity_type: t,
            input,
            control,
            task_list: tl,
            timeouts,
        } => b
            .decision_type(T::ScheduleActivityTask)
            .schedule_activity_task_decision_attributes(
                sdk::ScheduleActivityTaskDecisionAttributes::builder()
                    .activity_id(activity_id)
                    .activity_type(activity_type(t))
                    .set_input(cut(input, limits::INPUT))
                    .set_control(cut(control, limits::INPUT))
                    .task_list(task_list(tl))
                    .schedule_to_start_timeout(timeout_to_swf(timeouts.schedule_to_start))
                    .start_to_close_timeout(timeout_to_swf(timeouts.start_to_close))
                    .schedule_to_close_timeout(timeout_to_swf(timeouts.schedule_to_close))
                    .heartbeat_timeout(timeout_to_swf(timeouts.heartbeat))
                    .build()
                    .map_err(bad)?,
            ),
        Decision::RequestCancelActivityTask { activity_id } => b
            .decision_type(T::RequestCancelActivityTask)
            .request_cancel_activity_task_decision_attributes(
                sdk::RequestCancelActivityTaskDecisionAttributes::builder()
                    .activity_id(activity_id)
                    .build()
                    .map_err(bad)?,
            ),
        Decision::StartTimer {
            timer_id,
            control,
            start_to_fire,
        } => b
            .decision_type(T::StartTimer)
            .start_timer_decision_attributes(
                sdk::StartTimerDecisionAttributes::builder()
                    .timer_id(timer_id)
                    .set_control(control.clone())
                    .start_to_fire_timeout(timeout_to_swf(Some(*start_to_fire)))
                    .build()
                    .map_err(bad)?,
            ),
        Decision::CompleteWorkflowExecution { result } => b
            .decision_type(T::CompleteWorkflowExecution)
            .complete_workflow_execution_decision_attributes(
                sdk::CompleteWorkflowExecutionDecisionAttributes::builder()
                    .set_result(cut(result, limits::RESULT))
                    .build(),
            ),
        Decision::FailWorkflowExecution { reason, details } => b
            .decision_type(T::FailWorkflowExecution)
            .fail_workflow_execution_decision_attributes(
                sdk::FailWorkflowExecutionDecisionAttributes::builder()
                    .set_reason(cut(reason, limits::REASON))
                    .set_details(cut(details, limits::DETAILS))
                    .build(),
            ),
        Decision::CancelWorkflowExecution { details } => b
            .decision_type(T::CancelWorkflowExecution)
            .cancel_workflow_execution_decision_attributes(
                sdk::CancelWorkflowExecutionDecisionAttributes::builder()
                    .set_details(cut(details, limits::DETAILS))
                    .build(),
            ),
    };
    b.build().map_err(bad)
}
