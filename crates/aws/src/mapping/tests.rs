//! Every event kind and decision maps, and mapping failures name what is wrong.

use super::fields::timeout_from_swf;
use super::*;
use aws_smithy_types::DateTime;
use pressbot_core::history::{limits, ActivityTimeoutType, ActivityTimeouts, Decision};

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

#[test]
fn timestamps_round_to_the_nearest_millisecond() {
    // What the SDK makes of SWF's `1796560015.07`: just below .070 s.
    let parsed = DateTime::from_secs_f64(1_796_560_015.07);
    assert_eq!(parsed.to_millis().unwrap(), 1_796_560_015_069);
    assert_eq!(timestamp_from_swf(&parsed).millis(), 1_796_560_015_070);
    let exact = DateTime::from_millis(1_700_000_000_123);
    assert_eq!(timestamp_from_swf(&exact).millis(), 1_700_000_000_123);
    let before_epoch = DateTime::from_millis(-1_500);
    assert_eq!(timestamp_from_swf(&before_epoch).millis(), -1_500);
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
            ev(T::CancelWorkflowExecutionFailed).cancel_workflow_execution_failed_event_attributes(
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
