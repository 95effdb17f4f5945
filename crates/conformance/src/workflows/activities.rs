//! `WorkflowService`, activity tasks: failure and retry, heartbeats, the
//! timeouts, and cancel requests reaching the worker.

use super::{
    complete_workflow, decision_with, names, next_activity, next_decision, register, schedule,
    start, timeouts,
};
use crate::unique;
use pressbot_core::backend::{Backend, CloseStatus};
use pressbot_core::history::{ActivityTimeoutType, Decision, EventKind};
use pressbot_core::Error;
use std::time::{Duration, Instant};

/// A failed activity shows up with its reason and details; a timer the
/// decider starts fires and brings a decision task; the retried activity
/// completes and so does the workflow.
pub async fn activity_failure_and_retry_timer(b: &Backend) {
    register(b).await;
    let execution = start(b, &unique("wf-retry")).await;
    let task = next_decision(b).await;
    b.workflows
        .complete_decision_task(
            &task.token,
            vec![schedule("ping-1", timeouts(60, Some(30)))],
            None,
        )
        .await
        .expect("schedule");
    let act = next_activity(b).await;
    b.workflows
        .fail_activity_task(&act.token, "retryable: CMS busy", "429 Too Many Requests")
        .await
        .expect("fail activity");

    let task = decision_with(b, "ActivityTaskFailed").await;
    assert!(task.events.iter().any(|e| matches!(&e.kind,
        EventKind::ActivityTaskFailed { reason, details, .. }
            if reason.as_deref() == Some("retryable: CMS busy") && details.as_deref() == Some("429 Too Many Requests"))),
        "{:?}", names(&task));
    b.workflows
        .complete_decision_task(
            &task.token,
            vec![Decision::StartTimer {
                timer_id: "retry-ping-2".into(),
                control: Some("c".into()),
                start_to_fire: Duration::from_secs(1),
            }],
            None,
        )
        .await
        .expect("start timer");

    let task = decision_with(b, "TimerFired").await;
    let started = task
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::TimerStarted {
                timer_id,
                control,
                start_to_fire,
            } => {
                assert_eq!(timer_id, "retry-ping-2");
                assert_eq!(control.as_deref(), Some("c"));
                assert_eq!(*start_to_fire, Duration::from_secs(1));
                Some(e.id)
            }
            _ => None,
        })
        .expect("TimerStarted");
    assert!(task.events.iter().any(|e| matches!(&e.kind,
        EventKind::TimerFired { timer_id, started_event_id } if timer_id == "retry-ping-2" && *started_event_id == started)));
    b.workflows
        .complete_decision_task(
            &task.token,
            vec![schedule("ping-2", timeouts(60, Some(30)))],
            None,
        )
        .await
        .expect("schedule the retry");
    let act = next_activity(b).await;
    assert_eq!(act.activity_id, "ping-2");
    b.workflows
        .complete_activity_task(&act.token, None)
        .await
        .expect("complete the retry");
    let task = decision_with(b, "ActivityTaskCompleted").await;
    complete_workflow(b, &task).await;
    let info = b
        .workflows
        .describe_execution(&execution)
        .await
        .expect("describe");
    assert_eq!(info.close_status, Some(CloseStatus::Completed));
}

/// Heartbeats keep an activity alive past its heartbeat timeout and answer
/// "no cancel"; an activity that stops heartbeating times out by HEARTBEAT
/// and the decider hears of it (its token: [`timed_out_activity_token_is_spent`]).
pub async fn heartbeat(b: &Backend) {
    register(b).await;
    let execution = start(b, &unique("wf-beat")).await;
    let task = next_decision(b).await;
    b.workflows
        .complete_decision_task(
            &task.token,
            vec![
                schedule("alive", timeouts(60, Some(2))),
                schedule("silent", timeouts(60, Some(1))),
            ],
            None,
        )
        .await
        .expect("schedule two");
    let one = next_activity(b).await;
    let two = next_activity(b).await;
    let (alive, silent) = if one.activity_id == "alive" {
        (one, two)
    } else {
        (two, one)
    };
    assert_eq!(
        (alive.activity_id.as_str(), silent.activity_id.as_str()),
        ("alive", "silent")
    );
    // Twice its heartbeat timeout (2 s), heartbeating every 300 ms.
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        let hb = b
            .workflows
            .heartbeat(&alive.token, Some("working".into()))
            .await
            .expect("heartbeat");
        assert!(!hb.cancel_requested);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    b.workflows
        .complete_activity_task(&alive.token, Some("ok".into()))
        .await
        .expect("a heartbeating activity is still alive");

    let task = decision_with(b, "ActivityTaskTimedOut").await;
    let scheduled_silent = task
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ActivityTaskScheduled { activity_id, .. } if activity_id == "silent" => {
                Some(e.id)
            }
            _ => None,
        })
        .expect("silent was scheduled");
    assert!(task.events.iter().any(|e| matches!(&e.kind,
        EventKind::ActivityTaskTimedOut { scheduled_event_id, timeout_type: ActivityTimeoutType::Heartbeat, .. }
            if *scheduled_event_id == scheduled_silent)), "{:?}", names(&task));
    assert!(
        !task.events.iter().any(
            |e| matches!(&e.kind, EventKind::ActivityTaskTimedOut { scheduled_event_id, .. }
            if *scheduled_event_id != scheduled_silent)
        ),
        "only the silent one timed out: {:?}",
        names(&task)
    );
    complete_workflow(b, &task).await;
    let info = b
        .workflows
        .describe_execution(&execution)
        .await
        .expect("describe");
    assert_eq!(info.close_status, Some(CloseStatus::Completed));
}

/// Once an activity timed out its token is spent: completing it is
/// `UnknownTask`, so a worker that was merely slow cannot overwrite the
/// retry's result. (Not on moto: it answers HTTP 500 with an HTML page.)
pub async fn timed_out_activity_token_is_spent(b: &Backend) {
    register(b).await;
    start(b, &unique("wf-late")).await;
    let task = next_decision(b).await;
    b.workflows
        .complete_decision_task(
            &task.token,
            vec![schedule("silent", timeouts(60, Some(1)))],
            None,
        )
        .await
        .expect("schedule");
    let act = next_activity(b).await;
    tokio::time::sleep(Duration::from_millis(2200)).await;
    decision_with(b, "ActivityTaskTimedOut").await;
    let late = b
        .workflows
        .complete_activity_task(&act.token, None)
        .await
        .unwrap_err();
    assert!(
        matches!(late, Error::UnknownTask { .. }),
        "timed-out activity token: {late:?}"
    );
}

/// An activity that runs past its start-to-close timeout times out by
/// START_TO_CLOSE even while heartbeating. (Not on moto: it times
/// activities out by heartbeat only.)
pub async fn activity_start_to_close_timeout(b: &Backend) {
    register(b).await;
    start(b, &unique("wf-stc")).await;
    let task = next_decision(b).await;
    b.workflows
        .complete_decision_task(
            &task.token,
            vec![schedule("slow", timeouts(1, Some(30)))],
            None,
        )
        .await
        .expect("schedule");
    let act = next_activity(b).await;
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let task = decision_with(b, "ActivityTaskTimedOut").await;
    assert!(
        task.events.iter().any(|e| matches!(
            &e.kind,
            EventKind::ActivityTaskTimedOut {
                timeout_type: ActivityTimeoutType::StartToClose,
                ..
            }
        )),
        "{:?}",
        names(&task)
    );
    let late = b
        .workflows
        .complete_activity_task(&act.token, None)
        .await
        .unwrap_err();
    assert!(matches!(late, Error::UnknownTask { .. }), "{late:?}");
}

/// An operator's cancel request reaches the decider, and a
/// RequestCancelActivityTask decision reaches the activity's heartbeat.
/// (Not on moto: it implements neither.)
pub async fn cancel_request_reaches_heartbeat(b: &Backend) {
    register(b).await;
    let execution = start(b, &unique("wf-cancel")).await;
    let task = next_decision(b).await;
    b.workflows
        .complete_decision_task(
            &task.token,
            vec![schedule("long", timeouts(60, Some(30)))],
            None,
        )
        .await
        .expect("schedule");
    let act = next_activity(b).await;
    b.workflows
        .request_cancel(&execution.workflow_id, Some(&execution.run_id))
        .await
        .expect("request cancel");
    let task = decision_with(b, "WorkflowExecutionCancelRequested").await;
    b.workflows
        .complete_decision_task(
            &task.token,
            vec![Decision::RequestCancelActivityTask {
                activity_id: "long".into(),
            }],
            None,
        )
        .await
        .expect("request cancel of the activity");
    let hb = b
        .workflows
        .heartbeat(&act.token, None)
        .await
        .expect("heartbeat");
    assert!(hb.cancel_requested);
    b.workflows
        .cancel_activity_task(&act.token, Some("stopped".into()))
        .await
        .expect("cancel activity");
    let task = decision_with(b, "ActivityTaskCanceled").await;
    b.workflows
        .complete_decision_task(
            &task.token,
            vec![Decision::CancelWorkflowExecution { details: None }],
            None,
        )
        .await
        .expect("cancel workflow");
    let info = b
        .workflows
        .describe_execution(&execution)
        .await
        .expect("describe");
    assert_eq!(info.close_status, Some(CloseStatus::Canceled));
}
