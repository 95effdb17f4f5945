//! Timeouts and cancellation as moto produces them, mapped to core events.

mod common;

use pressbot_core::backend::{CloseStatus, StartOutcome, StartRequest};
use pressbot_core::history::{ActivityTimeoutType, ActivityTimeouts, Decision, EventKind};
use pressbot_core::ids::{TypeRef, WorkflowExecution, WorkflowId};
use std::time::Duration;

fn request(id: &str, decision_timeout: Duration) -> StartRequest {
    StartRequest {
        workflow_id: WorkflowId(id.into()),
        workflow_type: TypeRef::new("Ping", "1"),
        task_list: "decisions".into(),
        input: None,
        execution_start_to_close: Duration::from_secs(300),
        decision_task_start_to_close: decision_timeout,
        tags: vec![],
    }
}

#[tokio::test]
async fn decision_and_activity_timeouts_map() {
    let (_moto, _settings, aws) = common::setup("tmo", 1000).await;
    let wf = aws.backend().workflows;
    let StartOutcome::Started { run_id } = wf
        .start_workflow(request("wf-tmo", Duration::from_secs(1)))
        .await
        .unwrap()
    else {
        panic!("not started")
    };
    // Take the decision task and let it time out.
    let stale = wf
        .poll_decision_task("decisions", "slow")
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let task = wf
        .poll_decision_task("decisions", "d")
        .await
        .unwrap()
        .expect("a new decision task");
    assert!(
        task.events.iter().any(|e| matches!(
            e.kind,
            EventKind::DecisionTaskTimedOut {
                scheduled_event_id: 2,
                started_event_id: 3
            }
        )),
        "{:#?}",
        task.events
    );
    // (Answering with the stale token would be UnknownTask on SWF; moto
    // answers HTTP 500 with an HTML page instead, so it is not tried here.)
    drop(stale);

    // An activity that stops heartbeating (moto times activities out by
    // heartbeat only, never by start-to-close).
    wf.complete_decision_task(
        &task.token,
        vec![Decision::ScheduleActivityTask {
            activity_id: "slow".into(),
            activity_type: TypeRef::new("PingWorker", "1"),
            input: None,
            control: None,
            task_list: "default".into(),
            timeouts: ActivityTimeouts {
                schedule_to_start: Some(Duration::from_secs(60)),
                start_to_close: Some(Duration::from_secs(60)),
                schedule_to_close: None,
                heartbeat: Some(Duration::from_secs(1)),
            },
        }],
        None,
    )
    .await
    .unwrap();
    let _act = wf
        .poll_activity_task("default", "w")
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let task = wf
        .poll_decision_task("decisions", "d")
        .await
        .unwrap()
        .expect("a decision task after the timeout");
    assert!(
        task.events.iter().any(|e| matches!(
            e.kind,
            EventKind::ActivityTaskTimedOut {
                timeout_type: ActivityTimeoutType::Heartbeat,
                ..
            }
        )),
        "{:#?}",
        task.events
    );

    wf.complete_decision_task(
        &task.token,
        vec![Decision::FailWorkflowExecution {
            reason: Some("timed out".into()),
            details: None,
        }],
        None,
    )
    .await
    .unwrap();
    let info = wf
        .describe_execution(&WorkflowExecution {
            workflow_id: WorkflowId("wf-tmo".into()),
            run_id,
        })
        .await
        .unwrap();
    assert_eq!(info.close_status, Some(CloseStatus::Failed));
}

/// A decider that cancels its workflow. (On a workflow whose decision task
/// timed out before, moto refuses the cancel with UNHANDLED_DECISION: its
/// open decision task count is off by the timed-out task.)
#[tokio::test]
async fn cancel_decision_closes_as_canceled() {
    let (_moto, _settings, aws) = common::setup("cncl", 1000).await;
    let wf = aws.backend().workflows;
    let StartOutcome::Started { run_id } = wf
        .start_workflow(request("wf-cancel", Duration::from_secs(60)))
        .await
        .unwrap()
    else {
        panic!("not started")
    };
    let task = wf
        .poll_decision_task("decisions", "d")
        .await
        .unwrap()
        .unwrap();
    wf.complete_decision_task(
        &task.token,
        vec![Decision::CancelWorkflowExecution {
            details: Some("given up".into()),
        }],
        None,
    )
    .await
    .unwrap();
    let execution = WorkflowExecution {
        workflow_id: WorkflowId("wf-cancel".into()),
        run_id,
    };
    let history = wf.history(&execution).await.unwrap();
    assert!(
        matches!(&history.last().unwrap().kind,
            EventKind::WorkflowExecutionCanceled { details } if details.as_deref() == Some("given up")),
        "{history:#?}"
    );
    let info = wf.describe_execution(&execution).await.unwrap();
    assert_eq!(info.close_status, Some(CloseStatus::Canceled));
}
