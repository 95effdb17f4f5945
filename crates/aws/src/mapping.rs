//! Mapping between SWF's SDK types and core's [`HistoryEvent`] and
//! [`Decision`]: the only place that knows both, so the decider never sees
//! an AWS type.
//!
//! SWF spells timeouts as strings of whole seconds, or `"NONE"` for no
//! limit; core uses `Option<Duration>`. A decision always sends all four
//! activity timeouts explicitly (`"NONE"` included), so nothing silently
//! falls back to a type's registered default.

use crate::error::AwsError;
use aws_sdk_swf::types as sdk;
use pressbot_core::history::{
    limits, truncate, ActivityTimeoutType, ActivityTimeouts, Decision, EventKind, HistoryEvent,
};
use pressbot_core::ids::TypeRef;
use pressbot_core::time::Timestamp;
use std::time::Duration;

/// A duration as SWF spells it: whole seconds (rounded up, so a sub-second
/// timeout never becomes "no time at all"), or `"NONE"`.
pub(crate) fn timeout_to_swf(d: Option<Duration>) -> String {
    match d {
        None => "NONE".to_owned(),
        Some(d) => {
            let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
            secs.to_string()
        }
    }
}

/// SWF's timeout string as a duration; absent or `"NONE"` is no limit.
pub(crate) fn timeout_from_swf(s: Option<&str>) -> Result<Option<Duration>, String> {
    match s {
        None | Some("NONE") | Some("") => Ok(None),
        Some(s) => s
            .trim()
            .parse::<u64>()
            .map(|n| Some(Duration::from_secs(n)))
            .map_err(|_| format!("{s:?} is neither a number of seconds nor \"NONE\"")),
    }
}

pub(crate) fn type_ref_from_workflow(t: Option<&sdk::WorkflowType>) -> TypeRef {
    t.map(|t| TypeRef::new(t.name(), t.version()))
        .unwrap_or_else(|| TypeRef::new("", ""))
}

fn type_ref_from_activity(t: Option<&sdk::ActivityType>) -> TypeRef {
    t.map(|t| TypeRef::new(t.name(), t.version()))
        .unwrap_or_else(|| TypeRef::new("", ""))
}

fn task_list_name(t: Option<&sdk::TaskList>) -> String {
    t.map(|t| t.name().to_owned()).unwrap_or_default()
}

pub(crate) fn task_list(name: &str) -> sdk::TaskList {
    sdk::TaskList::builder()
        .name(name)
        .build()
        .expect("name is set")
}

pub(crate) fn workflow_type(t: &TypeRef) -> sdk::WorkflowType {
    sdk::WorkflowType::builder()
        .name(&t.name)
        .version(&t.version)
        .build()
        .expect("name and version are set")
}

pub(crate) fn activity_type(t: &TypeRef) -> sdk::ActivityType {
    sdk::ActivityType::builder()
        .name(&t.name)
        .version(&t.version)
        .build()
        .expect("name and version are set")
}

/// Map one SDK history event. Event types pressbot does not act on become
/// [`EventKind::Other`] (kept by name for `pressbot history`).
pub(crate) fn event_from_sdk(
    e: &sdk::HistoryEvent,
    operation: &'static str,
) -> Result<HistoryEvent, AwsError> {
    use sdk::EventType as T;
    let id = e.event_id();
    let missing = |field: &'static str| AwsError::Mapping {
        operation,
        event_id: id,
        field,
        message: "attributes missing".into(),
    };
    let timeout = |field: &'static str, s: Option<&str>| {
        timeout_from_swf(s).map_err(|message| AwsError::Mapping {
            operation,
            event_id: id,
            field,
            message,
        })
    };
    macro_rules! attrs {
        ($field:ident) => {
            e.$field
                .as_ref()
                .ok_or_else(|| missing(stringify!($field)))?
        };
    }
    let own = |s: Option<&str>| s.map(str::to_owned);
    let kind = match e.event_type() {
        T::WorkflowExecutionStarted => {
            let a = attrs!(workflow_execution_started_event_attributes);
            EventKind::WorkflowExecutionStarted {
                workflow_type: type_ref_from_workflow(a.workflow_type()),
                input: own(a.input()),
                task_list: task_list_name(a.task_list()),
                execution_start_to_close: timeout(
                    "executionStartToCloseTimeout",
                    a.execution_start_to_close_timeout(),
                )?,
            }
        }
        T::WorkflowExecutionCancelRequested => {
            let a = attrs!(workflow_execution_cancel_requested_event_attributes);
            EventKind::WorkflowExecutionCancelRequested {
                cause: a.cause().map(|c| c.as_str().to_owned()),
            }
        }
        T::WorkflowExecutionSignaled => {
            let a = attrs!(workflow_execution_signaled_event_attributes);
            EventKind::WorkflowExecutionSignaled {
                signal_name: a.signal_name().to_owned(),
                input: own(a.input()),
            }
        }
        T::DecisionTaskScheduled => {
            let a = attrs!(decision_task_scheduled_event_attributes);
            EventKind::DecisionTaskScheduled {
                task_list: task_list_name(a.task_list()),
            }
        }
        T::DecisionTaskStarted => {
            let a = attrs!(decision_task_started_event_attributes);
            EventKind::DecisionTaskStarted {
                scheduled_event_id: a.scheduled_event_id(),
                identity: own(a.identity()),
            }
        }
        T::DecisionTaskCompleted => {
            let a = attrs!(decision_task_completed_event_attributes);
            EventKind::DecisionTaskCompleted {
                scheduled_event_id: a.scheduled_event_id(),
                started_event_id: a.started_event_id(),
                execution_context: own(a.execution_context()),
            }
        }
        T::DecisionTaskTimedOut => {
            let a = attrs!(decision_task_timed_out_event_attributes);
            EventKind::DecisionTaskTimedOut {
                scheduled_event_id: a.scheduled_event_id(),
                started_event_id: a.started_event_id(),
            }
        }
        T::ActivityTaskScheduled => {
            let a = attrs!(activity_task_scheduled_event_attributes);
            EventKind::ActivityTaskScheduled {
                activity_id: a.activity_id().to_owned(),
                activity_type: type_ref_from_activity(a.activity_type()),
                input: own(a.input()),
                control: own(a.control()),
                task_list: task_list_name(a.task_list()),
                timeouts: ActivityTimeouts {
                    schedule_to_start: timeout(
                        "scheduleToStartTimeout",
                        a.schedule_to_start_timeout(),
                    )?,
                    start_to_close: timeout("startToCloseTimeout", a.start_to_close_timeout())?,
                    schedule_to_close: timeout(
                        "scheduleToCloseTimeout",
                        a.schedule_to_close_timeout(),
                    )?,
                    heartbeat: timeout("heartbeatTimeout", a.heartbeat_timeout())?,
                },
                decision_task_completed_event_id: a.decision_task_completed_event_id(),
            }
        }
        T::ScheduleActivityTaskFailed => {
            let a = attrs!(schedule_activity_task_failed_event_attributes);
            EventKind::ScheduleActivityTaskFailed {
                activity_id: a.activity_id().to_owned(),
                activity_type: type_ref_from_activity(a.activity_type()),
                cause: a.cause().as_str().to_owned(),
            }
        }
        T::ActivityTaskStarted => {
            let a = attrs!(activity_task_started_event_attributes);
            EventKind::ActivityTaskStarted {
                scheduled_event_id: a.scheduled_event_id(),
                identity: own(a.identity()),
            }
        }
        T::ActivityTaskCompleted => {
            let a = attrs!(activity_task_completed_event_attributes);
            EventKind::ActivityTaskCompleted {
                scheduled_event_id: a.scheduled_event_id(),
                started_event_id: a.started_event_id(),
                result: own(a.result()),
            }
        }
        T::ActivityTaskFailed => {
            let a = attrs!(activity_task_failed_event_attributes);
            EventKind::ActivityTaskFailed {
                scheduled_event_id: a.scheduled_event_id(),
                started_event_id: a.started_event_id(),
                reason: own(a.reason()),
                details: own(a.details()),
            }
        }
        T::ActivityTaskTimedOut => {
            let a = attrs!(activity_task_timed_out_event_attributes);
            let raw = a.timeout_type().as_str();
            EventKind::ActivityTaskTimedOut {
                scheduled_event_id: a.scheduled_event_id(),
                started_event_id: a.started_event_id(),
                timeout_type: ActivityTimeoutType::parse(raw).ok_or_else(|| AwsError::Mapping {
                    operation,
                    event_id: id,
                    field: "timeoutType",
                    message: format!("unknown activity timeout type {raw:?}"),
                })?,
                details: own(a.details()),
            }
        }
        T::ActivityTaskCancelRequested => {
            let a = attrs!(activity_task_cancel_requested_event_attributes);
            EventKind::ActivityTaskCancelRequested {
                activity_id: a.activity_id().to_owned(),
            }
        }
        T::ActivityTaskCanceled => {
            let a = attrs!(activity_task_canceled_event_attributes);
            EventKind::ActivityTaskCanceled {
                scheduled_event_id: a.scheduled_event_id(),
                started_event_id: a.started_event_id(),
                details: own(a.details()),
            }
        }
        T::TimerStarted => {
            let a = attrs!(timer_started_event_attributes);
            EventKind::TimerStarted {
                timer_id: a.timer_id().to_owned(),
                control: own(a.control()),
                start_to_fire: timeout("startToFireTimeout", Some(a.start_to_fire_timeout()))?
                    .unwrap_or_default(),
            }
        }
        T::TimerFired => {
            let a = attrs!(timer_fired_event_attributes);
            EventKind::TimerFired {
                timer_id: a.timer_id().to_owned(),
                started_event_id: a.started_event_id(),
            }
        }
        T::TimerCanceled => {
            let a = attrs!(timer_canceled_event_attributes);
            EventKind::TimerCanceled {
                timer_id: a.timer_id().to_owned(),
                started_event_id: a.started_event_id(),
            }
        }
        T::StartTimerFailed => {
            let a = attrs!(start_timer_failed_event_attributes);
            EventKind::StartTimerFailed {
                timer_id: a.timer_id().to_owned(),
                cause: a.cause().as_str().to_owned(),
            }
        }
        T::WorkflowExecutionCompleted => {
            let a = attrs!(workflow_execution_completed_event_attributes);
            EventKind::WorkflowExecutionCompleted {
                result: own(a.result()),
            }
        }
        T::CompleteWorkflowExecutionFailed => {
            let a = attrs!(complete_workflow_execution_failed_event_attributes);
            EventKind::CompleteWorkflowExecutionFailed {
                cause: a.cause().as_str().to_owned(),
            }
        }
        T::WorkflowExecutionFailed => {
            let a = attrs!(workflow_execution_failed_event_attributes);
            EventKind::WorkflowExecutionFailed {
                reason: own(a.reason()),
                details: own(a.details()),
            }
        }
        T::FailWorkflowExecutionFailed => {
            let a = attrs!(fail_workflow_execution_failed_event_attributes);
            EventKind::FailWorkflowExecutionFailed {
                cause: a.cause().as_str().to_owned(),
            }
        }
        T::WorkflowExecutionCanceled => {
            let a = attrs!(workflow_execution_canceled_event_attributes);
            EventKind::WorkflowExecutionCanceled {
                details: own(a.details()),
            }
        }
        T::CancelWorkflowExecutionFailed => {
            let a = attrs!(cancel_workflow_execution_failed_event_attributes);
            EventKind::CancelWorkflowExecutionFailed {
                cause: a.cause().as_str().to_owned(),
            }
        }
        T::WorkflowExecutionTimedOut => EventKind::WorkflowExecutionTimedOut,
        T::WorkflowExecutionTerminated => {
            // Attributes are optional here: SWF always sends them, but the
            // event closes the execution whatever they say.
            EventKind::WorkflowExecutionTerminated {
                reason: e
                    .workflow_execution_terminated_event_attributes()
                    .and_then(|a| own(a.reason())),
            }
        }
        other => EventKind::Other {
            name: other.as_str().to_owned(),
        },
    };
    Ok(HistoryEvent {
        id,
        timestamp: Timestamp(e.event_timestamp().to_millis().unwrap_or(0)),
        kind,
    })
}

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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_smithy_types::DateTime;

    #[test]
    fn timeouts_round_trip() {
        assert_eq!(timeout_to_swf(None), "NONE");
        assert_eq!(timeout_to_swf(Some(Duration::from_secs(300))), "300");
        assert_eq!(timeout_to_swf(Some(Duration::from_millis(1500))), "2");
        assert_eq!(timeout_from_swf(Some("NONE")), Ok(None));
        assert_eq!(timeout_from_swf(None), Ok(None));
        assert_eq!(
            timeout_from_swf(Some("60")),
            Ok(Some(Duration::from_secs(60)))
        );
        assert!(timeout_from_swf(Some("1m")).is_err());
    }

    fn wt() -> sdk::WorkflowType {
        workflow_type(&TypeRef::new("W", "1"))
    }

    fn at() -> sdk::ActivityType {
        activity_type(&TypeRef::new("A", "2"))
    }

    /// One SDK event of every type core maps, with every mapped field set,
    /// and the core event it must become.
    fn samples() -> Vec<(sdk::HistoryEvent, EventKind)> {
        use sdk::EventType as T;
        let ev = |t: T| {
            sdk::HistoryEvent::builder()
                .event_type(t)
                .event_id(7)
                .event_timestamp(DateTime::from_millis(1_700_000_000_123))
        };
        let timeouts = ActivityTimeouts {
            schedule_to_start: Some(Duration::from_secs(10)),
            start_to_close: Some(Duration::from_secs(20)),
            schedule_to_close: None,
            heartbeat: Some(Duration::from_secs(5)),
        };
        vec![
            (
                ev(T::WorkflowExecutionStarted).workflow_execution_started_event_attributes(
                    sdk::WorkflowExecutionStartedEventAttributes::builder()
                        .workflow_type(wt())
                        .input("in")
                        .task_list(task_list("tl"))
                        .execution_start_to_close_timeout("1800")
                        .child_policy(sdk::ChildPolicy::Terminate)
                        .build()
                        .unwrap(),
                ),
                EventKind::WorkflowExecutionStarted {
                    workflow_type: TypeRef::new("W", "1"),
                    input: Some("in".into()),
                    task_list: "tl".into(),
                    execution_start_to_close: Some(Duration::from_secs(1800)),
                },
            ),
            (
                ev(T::WorkflowExecutionCancelRequested)
                    .workflow_execution_cancel_requested_event_attributes(
                        sdk::WorkflowExecutionCancelRequestedEventAttributes::builder()
                            .cause(sdk::WorkflowExecutionCancelRequestedCause::ChildPolicyApplied)
                            .build(),
                    ),
                EventKind::WorkflowExecutionCancelRequested {
                    cause: Some("CHILD_POLICY_APPLIED".into()),
                },
            ),
            (
                ev(T::WorkflowExecutionSignaled).workflow_execution_signaled_event_attributes(
                    sdk::WorkflowExecutionSignaledEventAttributes::builder()
                        .signal_name("sig")
                        .input("x")
                        .build()
                        .unwrap(),
                ),
                EventKind::WorkflowExecutionSignaled {
                    signal_name: "sig".into(),
                    input: Some("x".into()),
                },
            ),
            (
                ev(T::DecisionTaskScheduled).decision_task_scheduled_event_attributes(
                    sdk::DecisionTaskScheduledEventAttributes::builder()
                        .task_list(task_list("d"))
                        .build(),
                ),
                EventKind::DecisionTaskScheduled {
                    task_list: "d".into(),
                },
            ),
            (
                ev(T::DecisionTaskStarted).decision_task_started_event_attributes(
                    sdk::DecisionTaskStartedEventAttributes::builder()
                        .scheduled_event_id(2)
                        .identity("me")
                        .build(),
                ),
                EventKind::DecisionTaskStarted {
                    scheduled_event_id: 2,
                    identity: Some("me".into()),
                },
            ),
            (
                ev(T::DecisionTaskCompleted).decision_task_completed_event_attributes(
                    sdk::DecisionTaskCompletedEventAttributes::builder()
                        .scheduled_event_id(2)
                        .started_event_id(3)
                        .execution_context("ctx")
                        .build(),
                ),
                EventKind::DecisionTaskCompleted {
                    scheduled_event_id: 2,
                    started_event_id: 3,
                    execution_context: Some("ctx".into()),
                },
            ),
            (
                ev(T::DecisionTaskTimedOut).decision_task_timed_out_event_attributes(
                    sdk::DecisionTaskTimedOutEventAttributes::builder()
                        .timeout_type(sdk::DecisionTaskTimeoutType::StartToClose)
                        .scheduled_event_id(2)
                        .started_event_id(3)
                        .build()
                        .unwrap(),
                ),
                EventKind::DecisionTaskTimedOut {
                    scheduled_event_id: 2,
                    started_event_id: 3,
                },
            ),
            (
                ev(T::ActivityTaskScheduled).activity_task_scheduled_event_attributes(
                    sdk::ActivityTaskScheduledEventAttributes::builder()
                        .activity_id("a1")
                        .activity_type(at())
                        .input("i")
                        .control("c")
                        .task_list(task_list("cms"))
                        .schedule_to_start_timeout("10")
                        .start_to_close_timeout("20")
                        .schedule_to_close_timeout("NONE")
                        .heartbeat_timeout("5")
                        .decision_task_completed_event_id(4)
                        .build()
                        .unwrap(),
                ),
                EventKind::ActivityTaskScheduled {
                    activity_id: "a1".into(),
                    activity_type: TypeRef::new("A", "2"),
                    input: Some("i".into()),
                    control: Some("c".into()),
                    task_list: "cms".into(),
                    timeouts,
                    decision_task_completed_event_id: 4,
                },
            ),
            (
                ev(T::ScheduleActivityTaskFailed).schedule_activity_task_failed_event_attributes(
                    sdk::ScheduleActivityTaskFailedEventAttributes::builder()
                        .activity_id("a1")
                        .activity_type(at())
                        .cause(sdk::ScheduleActivityTaskFailedCause::ActivityTypeDoesNotExist)
                        .decision_task_completed_event_id(4)
                        .build()
                        .unwrap(),
                ),
                EventKind::ScheduleActivityTaskFailed {
                    activity_id: "a1".into(),
                    activity_type: TypeRef::new("A", "2"),
                    cause: "ACTIVITY_TYPE_DOES_NOT_EXIST".into(),
                },
            ),
            (
                ev(T::ActivityTaskStarted).activity_task_started_event_attributes(
                    sdk::ActivityTaskStartedEventAttributes::builder()
                        .scheduled_event_id(5)
                        .identity("w")
                        .build(),
                ),
                EventKind::ActivityTaskStarted {
                    scheduled_event_id: 5,
                    identity: Some("w".into()),
                },
            ),
            (
                ev(T::ActivityTaskCompleted).activity_task_completed_event_attributes(
                    sdk::ActivityTaskCompletedEventAttributes::builder()
                        .scheduled_event_id(5)
                        .started_event_id(6)
                        .result("r")
                        .build(),
                ),
                EventKind::ActivityTaskCompleted {
                    scheduled_event_id: 5,
                    started_event_id: 6,
                    result: Some("r".into()),
                },
            ),
            (
                ev(T::ActivityTaskFailed).activity_task_failed_event_attributes(
                    sdk::ActivityTaskFailedEventAttributes::builder()
                        .scheduled_event_id(5)
                        .started_event_id(6)
                        .reason("why")
                        .details("what")
                        .build(),
                ),
                EventKind::ActivityTaskFailed {
                    scheduled_event_id: 5,
                    started_event_id: 6,
                    reason: Some("why".into()),
                    details: Some("what".into()),
                },
            ),
            (
                ev(T::ActivityTaskTimedOut).activity_task_timed_out_event_attributes(
                    sdk::ActivityTaskTimedOutEventAttributes::builder()
                        .timeout_type(sdk::ActivityTaskTimeoutType::Heartbeat)
                        .scheduled_event_id(5)
                        .started_event_id(6)
                        .details("d")
                        .build()
                        .unwrap(),
                ),
                EventKind::ActivityTaskTimedOut {
                    scheduled_event_id: 5,
                    started_event_id: 6,
                    timeout_type: ActivityTimeoutType::Heartbeat,
                    details: Some("d".into()),
                },
            ),
            (
                ev(T::ActivityTaskCancelRequested).activity_task_cancel_requested_event_attributes(
                    sdk::ActivityTaskCancelRequestedEventAttributes::builder()
                        .activity_id("a1")
                        .decision_task_completed_event_id(4)
                        .build()
                        .unwrap(),
                ),
                EventKind::ActivityTaskCancelRequested {
                    activity_id: "a1".into(),
                },
            ),
            (
                ev(T::ActivityTaskCanceled).activity_task_canceled_event_attributes(
                    sdk::ActivityTaskCanceledEventAttributes::builder()
                        .scheduled_event_id(5)
                        .started_event_id(6)
                        .details("d")
                        .build(),
                ),
                EventKind::ActivityTaskCanceled {
                    scheduled_event_id: 5,
                    started_event_id: 6,
                    details: Some("d".into()),
                },
            ),
            (
                ev(T::TimerStarted).timer_started_event_attributes(
                    sdk::TimerStartedEventAttributes::builder()
                        .timer_id("t")
                        .control("c")
                        .start_to_fire_timeout("30")
                        .decision_task_completed_event_id(4)
                        .build()
                        .unwrap(),
                ),
                EventKind::TimerStarted {
                    timer_id: "t".into(),
                    control: Some("c".into()),
                    start_to_fire: Duration::from_secs(30),
                },
            ),
            (
                ev(T::TimerFired).timer_fired_event_attributes(
                    sdk::TimerFiredEventAttributes::builder()
                        .timer_id("t")
                        .started_event_id(8)
                        .build()
                        .unwrap(),
                ),
                EventKind::TimerFired {
                    timer_id: "t".into(),
                    started_event_id: 8,
                },
            ),
            (
                ev(T::TimerCanceled).timer_canceled_event_attributes(
                    sdk::TimerCanceledEventAttributes::builder()
                        .timer_id("t")
                        .started_event_id(8)
                        .decision_task_completed_event_id(9)
                        .build()
                        .unwrap(),
                ),
                EventKind::TimerCanceled {
                    timer_id: "t".into(),
                    started_event_id: 8,
                },
            ),
            (
                ev(T::StartTimerFailed).start_timer_failed_event_attributes(
                    sdk::StartTimerFailedEventAttributes::builder()
                        .timer_id("t")
                        .cause(sdk::StartTimerFailedCause::TimerIdAlreadyInUse)
                        .decision_task_completed_event_id(4)
                        .build()
                        .unwrap(),
                ),
                EventKind::StartTimerFailed {
                    timer_id: "t".into(),
                    cause: "TIMER_ID_ALREADY_IN_USE".into(),
                },
            ),
            (
                ev(T::WorkflowExecutionCompleted).workflow_execution_completed_event_attributes(
                    sdk::WorkflowExecutionCompletedEventAttributes::builder()
                        .result("done")
                        .decision_task_completed_event_id(4)
                        .build(),
                ),
                EventKind::WorkflowExecutionCompleted {
                    result: Some("done".into()),
                },
            ),
            (
                ev(T::CompleteWorkflowExecutionFailed)
                    .complete_workflow_execution_failed_event_attributes(
                        sdk::CompleteWorkflowExecutionFailedEventAttributes::builder()
                            .cause(sdk::CompleteWorkflowExecutionFailedCause::UnhandledDecision)
                            .decision_task_completed_event_id(4)
                            .build()
                            .unwrap(),
                    ),
                EventKind::CompleteWorkflowExecutionFailed {
                    cause: "UNHANDLED_DECISION".into(),
                },
            ),
            (
                ev(T::WorkflowExecutionFailed).workflow_execution_failed_event_attributes(
                    sdk::WorkflowExecutionFailedEventAttributes::builder()
                        .reason("r")
                        .details("d")
                        .decision_task_completed_event_id(4)
                        .build(),
                ),
                EventKind::WorkflowExecutionFailed {
                    reason: Some("r".into()),
                    details: Some("d".into()),
                },
            ),
            (
                ev(T::FailWorkflowExecutionFailed).fail_workflow_execution_failed_event_attributes(
                    sdk::FailWorkflowExecutionFailedEventAttributes::builder()
                        .cause(sdk::FailWorkflowExecutionFailedCause::UnhandledDecision)
                        .decision_task_completed_event_id(4)
                        .build()
                        .unwrap(),
                ),
                EventKind::FailWorkflowExecutionFailed {
                    cause: "UNHANDLED_DECISION".into(),
                },
            ),
            (
                ev(T::WorkflowExecutionCanceled).workflow_execution_canceled_event_attributes(
                    sdk::WorkflowExecutionCanceledEventAttributes::builder()
                        .details("d")
                        .decision_task_completed_event_id(4)
                        .build(),
                ),
                EventKind::WorkflowExecutionCanceled {
                    details: Some("d".into()),
                },
            ),
            (
                ev(T::CancelWorkflowExecutionFailed)
                    .cancel_workflow_execution_failed_event_attributes(
                        sdk::CancelWorkflowExecutionFailedEventAttributes::builder()
                            .cause(sdk::CancelWorkflowExecutionFailedCause::UnhandledDecision)
                            .decision_task_completed_event_id(4)
                            .build()
                            .unwrap(),
                    ),
                EventKind::CancelWorkflowExecutionFailed {
                    cause: "UNHANDLED_DECISION".into(),
                },
            ),
            (
                ev(T::WorkflowExecutionTimedOut).workflow_execution_timed_out_event_attributes(
                    sdk::WorkflowExecutionTimedOutEventAttributes::builder()
                        .timeout_type(sdk::WorkflowExecutionTimeoutType::StartToClose)
                        .child_policy(sdk::ChildPolicy::Terminate)
                        .build()
                        .unwrap(),
                ),
                EventKind::WorkflowExecutionTimedOut,
            ),
            (
                ev(T::WorkflowExecutionTerminated).workflow_execution_terminated_event_attributes(
                    sdk::WorkflowExecutionTerminatedEventAttributes::builder()
                        .reason("op")
                        .child_policy(sdk::ChildPolicy::Terminate)
                        .build()
                        .unwrap(),
                ),
                EventKind::WorkflowExecutionTerminated {
                    reason: Some("op".into()),
                },
            ),
            (
                ev(T::MarkerRecorded),
                EventKind::Other {
                    name: "MarkerRecorded".into(),
                },
            ),
        ]
        .into_iter()
        .map(|(b, k)| (b.build().unwrap(), k))
        .collect()
    }

    #[test]
    fn every_event_kind_maps() {
        let samples = samples();
        let mut names = std::collections::BTreeSet::new();
        for (sdk_event, kind) in samples {
            let mapped = event_from_sdk(&sdk_event, "test").unwrap();
            assert_eq!(mapped.id, 7);
            assert_eq!(mapped.timestamp, Timestamp(1_700_000_000_123));
            assert_eq!(mapped.kind, kind, "{:?}", sdk_event.event_type());
            names.insert(kind.name().to_owned());
        }
        // 27 named kinds in core + Other.
        assert_eq!(names.len(), 28, "{names:?}");
    }

    #[test]
    fn missing_attributes_name_the_event() {
        let e = sdk::HistoryEvent::builder()
            .event_type(sdk::EventType::ActivityTaskCompleted)
            .event_id(12)
            .event_timestamp(DateTime::from_millis(0))
            .build()
            .unwrap();
        let err = event_from_sdk(&e, "GetWorkflowExecutionHistory").unwrap_err();
        assert!(err.to_string().contains("event 12"), "{err}");
    }

    #[test]
    fn bad_timeout_is_an_error_naming_the_field() {
        let e = sdk::HistoryEvent::builder()
            .event_type(sdk::EventType::TimerStarted)
            .event_id(3)
            .event_timestamp(DateTime::from_millis(0))
            .timer_started_event_attributes(
                sdk::TimerStartedEventAttributes::builder()
                    .timer_id("t")
                    .start_to_fire_timeout("soon")
                    .decision_task_completed_event_id(1)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        let err = event_from_sdk(&e, "x").unwrap_err().to_string();
        assert!(
            err.contains("startToFireTimeout") && err.contains("soon"),
            "{err}"
        );
    }

    #[test]
    fn every_decision_maps() {
        let decisions = vec![
            Decision::ScheduleActivityTask {
                activity_id: "a".into(),
                activity_type: TypeRef::new("A", "1"),
                input: Some("{}".into()),
                control: None,
                task_list: "default".into(),
                timeouts: ActivityTimeouts {
                    schedule_to_start: Some(Duration::from_secs(300)),
                    start_to_close: Some(Duration::from_secs(900)),
                    schedule_to_close: None,
                    heartbeat: Some(Duration::from_secs(60)),
                },
            },
            Decision::RequestCancelActivityTask {
                activity_id: "a".into(),
            },
            Decision::StartTimer {
                timer_id: "t".into(),
                control: Some("c".into()),
                start_to_fire: Duration::from_secs(10),
            },
            Decision::CompleteWorkflowExecution {
                result: Some("r".into()),
            },
            Decision::FailWorkflowExecution {
                reason: Some("r".into()),
                details: Some("d".into()),
            },
            Decision::CancelWorkflowExecution {
                details: Some("d".into()),
            },
        ];
        for d in &decisions {
            let s = decision_to_sdk(d).unwrap();
            assert_eq!(s.decision_type().as_str(), d.name());
        }
        let s = decision_to_sdk(&decisions[0]).unwrap();
        let a = s.schedule_activity_task_decision_attributes().unwrap();
        assert_eq!(a.schedule_to_start_timeout(), Some("300"));
        assert_eq!(a.start_to_close_timeout(), Some("900"));
        assert_eq!(a.schedule_to_close_timeout(), Some("NONE"));
        assert_eq!(a.heartbeat_timeout(), Some("60"));
        assert_eq!(a.task_list().unwrap().name(), "default");
        let s = decision_to_sdk(&decisions[2]).unwrap();
        assert_eq!(
            s.start_timer_decision_attributes()
                .unwrap()
                .start_to_fire_timeout(),
            "10"
        );
        let s = decision_to_sdk(&decisions[4]).unwrap();
        let a = s.fail_workflow_execution_decision_attributes().unwrap();
        assert_eq!((a.reason(), a.details()), (Some("r"), Some("d")));
        let long = Decision::FailWorkflowExecution {
            reason: Some("é".repeat(300)),
            details: None,
        };
        let s = decision_to_sdk(&long).unwrap();
        let reason = s
            .fail_workflow_execution_decision_attributes()
            .unwrap()
            .reason()
            .unwrap();
        assert!(reason.len() <= limits::REASON, "{}", reason.len());
    }
}
