//! SWF through the backend traits against moto: start, duplicate start, a
//! decision/activity round trip, task tokens, histories.

mod common;

use pressbot_core::backend::{ExecutionFilter, StartOutcome, StartRequest};
use pressbot_core::history::{ActivityTimeouts, Decision, EventKind};
use pressbot_core::ids::{TypeRef, WorkflowExecution, WorkflowId};
use pressbot_core::Error;
use std::time::Duration;

fn start_request(id: &str) -> StartRequest {
    StartRequest {
        workflow_id: WorkflowId(id.into()),
        workflow_type: TypeRef::new("Ping", "1"),
        task_list: "decisions".into(),
        input: Some(r#"{"article":"00353"}"#.into()),
        execution_start_to_close: Duration::from_secs(300),
        decision_task_start_to_close: Duration::from_secs(60),
        tags: vec!["test".into()],
    }
}

fn schedule(activity: &str, task_list: &str) -> Decision {
    Decision::ScheduleActivityTask {
        activity_id: activity.into(),
        activity_type: TypeRef::new(activity, "1"),
        input: Some(r#"{"n":1}"#.into()),
        control: Some("attempt=1".into()),
        task_list: task_list.into(),
        timeouts: ActivityTimeouts {
            schedule_to_start: Some(Duration::from_secs(300)),
            start_to_close: Some(Duration::from_secs(60)),
            schedule_to_close: None,
            heartbeat: Some(Duration::from_secs(30)),
        },
    }
}

#[tokio::test]
async fn duplicate_start_is_already_running() {
    let (_moto, _settings, aws) = common::setup("dup", 1000).await;
    let wf = aws.backend().workflows;
    let first = wf.start_workflow(start_request("wf-dup")).await.unwrap();
    assert!(matches!(first, StartOutcome::Started { ref run_id } if !run_id.0.is_empty()));
    let second = wf.start_workflow(start_request("wf-dup")).await.unwrap();
    assert_eq!(second, StartOutcome::AlreadyRunning);

    let open = wf
        .list_executions(&ExecutionFilter {
            open: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].execution.workflow_id.as_str(), "wf-dup");
    assert_eq!(open[0].workflow_type, TypeRef::new("Ping", "1"));
    assert_eq!(open[0].close_status, None);

    wf.start_workflow(start_request("wf-other")).await.unwrap();
    let by_id = wf
        .list_executions(&ExecutionFilter {
            open: true,
            workflow_id: Some(WorkflowId("wf-other".into())),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_id.len(), 1);
    assert_eq!(by_id[0].execution.workflow_id.as_str(), "wf-other");
    let by_name = wf
        .list_executions(&ExecutionFilter {
            open: true,
            workflow_name: Some("Ping".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_name.len(), 2);
    let none = wf
        .list_executions(&ExecutionFilter {
            open: true,
            workflow_name: Some("Other".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());

    // An unregistered type is a plain, non-retryable error naming the workflow id.
    let mut bad = start_request("wf-bad");
    bad.workflow_type = TypeRef::new("Nope", "9");
    let err = wf.start_workflow(bad).await.unwrap_err();
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("wf-bad"), "{err}");
}

#[tokio::test]
async fn empty_polls_are_none() {
    let (_moto, _settings, aws) = common::setup("empty", 1000).await;
    let wf = aws.backend().workflows;
    assert!(wf
        .poll_decision_task("decisions", "t")
        .await
        .unwrap()
        .is_none());
    assert!(wf
        .poll_activity_task("default", "t")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn decision_and_activity_round_trip() {
    let (_moto, _settings, aws) = common::setup("trip", 1000).await;
    let wf = aws.backend().workflows;
    let StartOutcome::Started { run_id } =
        wf.start_workflow(start_request("wf-trip")).await.unwrap()
    else {
        panic!("not started")
    };
    let calls_after_start = aws.swf_call_count();

    // 1. First decision task: started, scheduled, started.
    let task = wf
        .poll_decision_task("decisions", "decider-1")
        .await
        .unwrap()
        .expect("a decision task");
    assert_eq!(task.execution.workflow_id.as_str(), "wf-trip");
    assert_eq!(task.execution.run_id, run_id);
    assert_eq!(task.workflow_type, TypeRef::new("Ping", "1"));
    let names: Vec<_> = task
        .events
        .iter()
        .map(|e| e.kind.name().to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "WorkflowExecutionStarted",
            "DecisionTaskScheduled",
            "DecisionTaskStarted"
        ]
    );
    match &task.events[0].kind {
        EventKind::WorkflowExecutionStarted {
            workflow_type,
            input,
            task_list,
            execution_start_to_close,
        } => {
            assert_eq!(workflow_type, &TypeRef::new("Ping", "1"));
            assert_eq!(input.as_deref(), Some(r#"{"article":"00353"}"#));
            assert_eq!(task_list, "decisions");
            assert_eq!(*execution_start_to_close, Some(Duration::from_secs(300)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(task.started_event_id, 3);
    assert!(task.events[0].timestamp.millis() > 0);
    wf.complete_decision_task(
        &task.token,
        vec![schedule("PingWorker", "default")],
        Some("ctx-1".into()),
    )
    .await
    .unwrap();
    // The token is spent now.
    let spent = wf
        .complete_decision_task(&task.token, vec![], None)
        .await
        .unwrap_err();
    assert!(matches!(spent, Error::UnknownTask { .. }), "{spent:?}");

    // 2. The activity.
    let act = wf
        .poll_activity_task("default", "worker-1")
        .await
        .unwrap()
        .expect("an activity task");
    assert_eq!(act.activity_id, "PingWorker");
    assert_eq!(act.activity_type, TypeRef::new("PingWorker", "1"));
    assert_eq!(act.input.as_deref(), Some(r#"{"n":1}"#));
    assert_eq!(act.execution.workflow_id.as_str(), "wf-trip");
    let hb = wf.heartbeat(&act.token, Some("50%".into())).await.unwrap();
    assert!(!hb.cancel_requested);
    wf.complete_activity_task(&act.token, Some(r#"{"pong":true}"#.into()))
        .await
        .unwrap();
    let again = wf
        .complete_activity_task(&act.token, None)
        .await
        .unwrap_err();
    assert!(matches!(again, Error::UnknownTask { .. }), "{again:?}");

    // 3. Second decision task: the whole history, mapped.
    let task = wf
        .poll_decision_task("decisions", "decider-1")
        .await
        .unwrap()
        .expect("a second decision task");
    let kinds: Vec<&EventKind> = task.events.iter().map(|e| &e.kind).collect();
    let ids: Vec<i64> = task.events.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=ids.len() as i64).collect::<Vec<_>>(), "dense ids");
    assert!(kinds.iter().any(|k| matches!(k,
        EventKind::DecisionTaskCompleted { scheduled_event_id: 2, started_event_id: 3, execution_context }
            if execution_context.as_deref() == Some("ctx-1"))), "{kinds:#?}");
    let scheduled = task
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ActivityTaskScheduled {
                activity_id,
                activity_type,
                input,
                control,
                task_list,
                timeouts,
                decision_task_completed_event_id,
            } => {
                assert_eq!(activity_id, "PingWorker");
                assert_eq!(activity_type, &TypeRef::new("PingWorker", "1"));
                assert_eq!(input.as_deref(), Some(r#"{"n":1}"#));
                assert_eq!(control.as_deref(), Some("attempt=1"));
                assert_eq!(task_list, "default");
                assert_eq!(timeouts.start_to_close, Some(Duration::from_secs(60)));
                assert_eq!(timeouts.schedule_to_start, Some(Duration::from_secs(300)));
                assert_eq!(timeouts.heartbeat, Some(Duration::from_secs(30)));
                assert_eq!(timeouts.schedule_to_close, None);
                assert_eq!(*decision_task_completed_event_id, 4);
                Some(e.id)
            }
            _ => None,
        })
        .expect("ActivityTaskScheduled in history");
    assert!(
        kinds.iter().any(|k| matches!(k,
        EventKind::ActivityTaskStarted { scheduled_event_id, identity }
            if *scheduled_event_id == scheduled && identity.as_deref() == Some("worker-1"))),
        "{kinds:#?}"
    );
    assert!(
        kinds.iter().any(|k| matches!(k,
        EventKind::ActivityTaskCompleted { scheduled_event_id, result, .. }
            if *scheduled_event_id == scheduled && result.as_deref() == Some(r#"{"pong":true}"#))),
        "{kinds:#?}"
    );
    assert!(matches!(
        kinds.last().unwrap(),
        EventKind::DecisionTaskStarted { .. }
    ));
    assert_eq!(task.previous_started_event_id, 3);

    wf.complete_decision_task(
        &task.token,
        vec![Decision::CompleteWorkflowExecution {
            result: Some("done".into()),
        }],
        None,
    )
    .await
    .unwrap();
    // start + 6 calls: poll, complete, poll activity, complete activity (+1
    // heartbeat +2 spent-token checks here), poll, complete.
    assert_eq!(aws.swf_call_count() - calls_after_start, 6 + 3);

    let execution = WorkflowExecution {
        workflow_id: WorkflowId("wf-trip".into()),
        run_id: run_id.clone(),
    };
    let info = wf.describe_execution(&execution).await.unwrap();
    assert_eq!(
        info.close_status,
        Some(pressbot_core::backend::CloseStatus::Completed)
    );
    assert!(info.closed.is_some());
    let history = wf.history(&execution).await.unwrap();
    assert!(matches!(
        &history.last().unwrap().kind,
        EventKind::WorkflowExecutionCompleted { result } if result.as_deref() == Some("done")
    ));
    let closed = wf
        .list_executions(&ExecutionFilter {
            open: false,
            close_status: Some(pressbot_core::backend::CloseStatus::Completed),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(closed.len(), 1);

    // Unknown executions are NotFound.
    let err = wf
        .describe_execution(&WorkflowExecution {
            workflow_id: WorkflowId("nope".into()),
            run_id: run_id.clone(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn failures_timers_and_termination_map() {
    let (_moto, _settings, aws) = common::setup("fail", 1000).await;
    let wf = aws.backend().workflows;
    let StartOutcome::Started { run_id } =
        wf.start_workflow(start_request("wf-fail")).await.unwrap()
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
        vec![
            schedule("PostToCms", "cms"),
            Decision::StartTimer {
                timer_id: "retry-PostToCms-2".into(),
                control: Some("c".into()),
                start_to_fire: Duration::from_secs(3600),
            },
        ],
        None,
    )
    .await
    .unwrap();
    let act = wf.poll_activity_task("cms", "w").await.unwrap().unwrap();
    wf.fail_activity_task(&act.token, "retryable: CMS busy", "429 Too Many Requests")
        .await
        .unwrap();
    let task = wf
        .poll_decision_task("decisions", "d")
        .await
        .unwrap()
        .unwrap();
    let kinds: Vec<&EventKind> = task.events.iter().map(|e| &e.kind).collect();
    assert!(kinds.iter().any(|k| matches!(k,
        EventKind::TimerStarted { timer_id, control, start_to_fire }
            if timer_id == "retry-PostToCms-2" && control.as_deref() == Some("c") && *start_to_fire == Duration::from_secs(3600))), "{kinds:#?}");
    assert!(kinds.iter().any(|k| matches!(k,
        EventKind::ActivityTaskFailed { reason, details, .. }
            if reason.as_deref() == Some("retryable: CMS busy") && details.as_deref() == Some("429 Too Many Requests"))), "{kinds:#?}");
    wf.complete_decision_task(
        &task.token,
        vec![Decision::FailWorkflowExecution {
            reason: Some("step PostToCms failed".into()),
            details: Some("attempt 1".into()),
        }],
        None,
    )
    .await
    .unwrap();
    let execution = WorkflowExecution {
        workflow_id: WorkflowId("wf-fail".into()),
        run_id,
    };
    let history = wf.history(&execution).await.unwrap();
    assert!(
        matches!(
            &history.last().unwrap().kind,
            EventKind::WorkflowExecutionFailed { reason, details }
                if reason.as_deref() == Some("step PostToCms failed") && details.as_deref() == Some("attempt 1")
        ),
        "{history:#?}"
    );

    // Terminate another one.
    let StartOutcome::Started { run_id } =
        wf.start_workflow(start_request("wf-term")).await.unwrap()
    else {
        panic!("not started")
    };
    wf.terminate(
        &WorkflowId("wf-term".into()),
        Some(&run_id),
        "operator said so",
    )
    .await
    .unwrap();
    let history = wf
        .history(&WorkflowExecution {
            workflow_id: WorkflowId("wf-term".into()),
            run_id,
        })
        .await
        .unwrap();
    assert!(
        matches!(
            &history.last().unwrap().kind,
            EventKind::WorkflowExecutionTerminated { reason } if reason.as_deref() == Some("operator said so")
        ),
        "{history:#?}"
    );
    let err = wf
        .terminate(&WorkflowId("never".into()), None, "x")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

#[tokio::test]
async fn long_history_with_small_pages_is_assembled() {
    // Page size 2: moto ignores it (see the report), the paging loop itself
    // is covered against a paging SWF stand-in in `paging.rs`.
    let (_moto, _settings, aws) = common::setup("pages", 2).await;
    let wf = aws.backend().workflows;
    let StartOutcome::Started { run_id } =
        wf.start_workflow(start_request("wf-pages")).await.unwrap()
    else {
        panic!("not started")
    };
    let mut decision = schedule("PingWorker", "default");
    for round in 0..3 {
        let task = wf
            .poll_decision_task("decisions", "d")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(task.events.first().unwrap().id, 1, "round {round}");
        assert_eq!(task.events.last().unwrap().id, task.started_event_id);
        let Decision::ScheduleActivityTask { activity_id, .. } = &mut decision else {
            unreachable!()
        };
        *activity_id = format!("PingWorker-{round}");
        wf.complete_decision_task(&task.token, vec![decision.clone()], None)
            .await
            .unwrap();
        let act = wf
            .poll_activity_task("default", "w")
            .await
            .unwrap()
            .unwrap();
        wf.complete_activity_task(&act.token, Some(round.to_string()))
            .await
            .unwrap();
    }
    let task = wf
        .poll_decision_task("decisions", "d")
        .await
        .unwrap()
        .unwrap();
    assert!(task.events.len() > 10, "{}", task.events.len());
    let ids: Vec<i64> = task.events.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=ids.len() as i64).collect::<Vec<_>>());
    let history = wf
        .history(&WorkflowExecution {
            workflow_id: WorkflowId("wf-pages".into()),
            run_id,
        })
        .await
        .unwrap();
    assert_eq!(history.len(), task.events.len());
}

/// What a benchmark counts: a one-activity workflow is one start plus six
/// SWF calls (poll + respond for each of two decision tasks, poll +
/// complete for the activity), when no poll comes back empty.
#[tokio::test]
async fn one_activity_workflow_costs_start_plus_six_calls() {
    let (_moto, _settings, aws) = common::setup("count", 1000).await;
    let wf = aws.backend().workflows;
    let before = aws.swf_call_count();
    wf.start_workflow(start_request("wf-count")).await.unwrap();
    assert_eq!(aws.swf_call_count() - before, 1);
    let task = wf
        .poll_decision_task("decisions", "d")
        .await
        .unwrap()
        .unwrap();
    wf.complete_decision_task(&task.token, vec![schedule("PingWorker", "default")], None)
        .await
        .unwrap();
    let act = wf
        .poll_activity_task("default", "w")
        .await
        .unwrap()
        .unwrap();
    wf.complete_activity_task(&act.token, None).await.unwrap();
    let task = wf
        .poll_decision_task("decisions", "d")
        .await
        .unwrap()
        .unwrap();
    wf.complete_decision_task(
        &task.token,
        vec![Decision::CompleteWorkflowExecution { result: None }],
        None,
    )
    .await
    .unwrap();
    assert_eq!(aws.swf_call_count() - before, 1 + 6);
}
