//! SWF semantics of the embedded backend, on real SQLite files.

mod common;

use common::*;
use pressbot_core::backend::{CloseStatus, ExecutionFilter, StartOutcome, WorkflowService};
use pressbot_core::definition::{Definitions, WorkflowDefinition};
use pressbot_core::history::{ActivityTimeoutType, ActivityTimeouts, Decision, EventKind};
use pressbot_core::ids::{TypeRef, WorkflowExecution, WorkflowId};
use pressbot_core::Error;
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

fn exec(id: &str, run: &pressbot_core::ids::RunId) -> WorkflowExecution {
    WorkflowExecution {
        workflow_id: WorkflowId::from(id),
        run_id: run.clone(),
    }
}

#[tokio::test]
async fn duplicate_start_is_rejected_while_open_only() {
    let (_dir, b) = setup().await;
    let run1 = start(&b, "wf-1").await;
    assert_eq!(
        b.start_workflow(request("wf-1"))
            .await
            .expect("second start"),
        StartOutcome::AlreadyRunning
    );
    let open = b
        .list_executions(&ExecutionFilter {
            open: true,
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].execution.run_id, run1);
    assert_eq!(open[0].close_status, None);

    b.terminate(&WorkflowId::from("wf-1"), None, "test")
        .await
        .expect("terminate");
    let run2 = start(&b, "wf-1").await;
    assert_ne!(run1, run2);

    let info = b
        .describe_execution(&exec("wf-1", &run1))
        .await
        .expect("describe");
    assert_eq!(info.close_status, Some(CloseStatus::Terminated));
    let closed = b
        .list_executions(&ExecutionFilter {
            open: false,
            workflow_id: Some(WorkflowId::from("wf-1")),
            ..Default::default()
        })
        .await
        .expect("list closed");
    assert_eq!(closed.len(), 1);
    let history = b.history(&exec("wf-1", &run1)).await.expect("history");
    assert_eq!(
        names(&history),
        [
            "WorkflowExecutionStarted",
            "DecisionTaskScheduled",
            "WorkflowExecutionTerminated"
        ]
    );
}

#[tokio::test]
async fn unregistered_workflow_type_is_not_found() {
    let (_dir, b) = setup().await;
    let mut r = request("wf");
    r.workflow_type = TypeRef::new("Nope", "1");
    let e = b.start_workflow(r).await.expect_err("unregistered");
    assert!(
        matches!(
            e,
            Error::NotFound {
                what: "workflow type",
                ..
            }
        ),
        "{e}"
    );
}

#[tokio::test]
async fn register_definitions_is_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = open(dir.path());
    let def = WorkflowDefinition::from_toml_str(
        r#"
name = "Defined"
version = "2"
task_list = "decisions"
execution_start_to_close = "1h"
[[step]]
activity = "Ping"
"#,
        Path::new("defined.toml"),
        &|_| true,
    )
    .expect("definition");
    let mut defs = Definitions::default();
    defs.insert(def).expect("insert");
    b.register(&defs).await.expect("register");
    b.register(&defs).await.expect("register again");
    let mut r = request("wf");
    r.workflow_type = TypeRef::new("Defined", "2");
    assert!(matches!(
        b.start_workflow(r).await.expect("start"),
        StartOutcome::Started { .. }
    ));
}

#[tokio::test]
async fn decision_and_activity_flow_to_completion() {
    let (_dir, b) = setup().await;
    let run = start(&b, "wf").await;

    let d = b
        .poll_decision_task(DECISIONS, "decider-1")
        .await
        .expect("poll")
        .expect("a decision task");
    assert_eq!(
        names(&d.events),
        [
            "WorkflowExecutionStarted",
            "DecisionTaskScheduled",
            "DecisionTaskStarted"
        ]
    );
    assert_eq!(d.started_event_id, 3);
    assert_eq!(d.previous_started_event_id, 0);
    assert_eq!(d.execution, exec("wf", &run));
    assert_eq!(d.workflow_type, workflow_type());
    assert!(matches!(
        &d.events[0].kind,
        EventKind::WorkflowExecutionStarted { input: Some(i), .. } if i == r#"{"a":1}"#
    ));
    b.complete_decision_task(
        &d.token,
        vec![schedule("step-1", ActivityTimeouts::default())],
        None,
    )
    .await
    .expect("complete decision");
    // The token is spent.
    let e = b
        .complete_decision_task(&d.token, vec![], None)
        .await
        .expect_err("stale decision token");
    assert!(matches!(e, Error::UnknownTask { .. }), "{e}");

    let a = b
        .poll_activity_task(WORK, "worker-1")
        .await
        .expect("poll")
        .expect("an activity task");
    assert_eq!(a.activity_id, "step-1");
    assert_eq!(a.activity_type, ping());
    assert_eq!(a.input.as_deref(), Some("input of step-1"));
    assert_eq!(a.execution.run_id, run);
    let hb = b
        .heartbeat(&a.token, Some("50%".into()))
        .await
        .expect("heartbeat");
    assert!(!hb.cancel_requested);
    b.complete_activity_task(&a.token, Some(r#"{"ok":true}"#.into()))
        .await
        .expect("complete activity");
    let e = b
        .complete_activity_task(&a.token, None)
        .await
        .expect_err("second completion");
    assert!(matches!(e, Error::UnknownTask { .. }), "{e}");
    let e = b
        .heartbeat(&a.token, None)
        .await
        .expect_err("heartbeat after close");
    assert!(matches!(e, Error::UnknownTask { .. }), "{e}");

    let d = b
        .poll_decision_task(DECISIONS, "decider-1")
        .await
        .expect("poll")
        .expect("decision after completion");
    assert_eq!(d.previous_started_event_id, 3);
    assert!(matches!(
        last_kind(&d.events, "ActivityTaskCompleted"),
        EventKind::ActivityTaskCompleted { result: Some(r), .. } if r == r#"{"ok":true}"#
    ));
    b.complete_decision_task(
        &d.token,
        vec![Decision::CompleteWorkflowExecution {
            result: Some("done".into()),
        }],
        None,
    )
    .await
    .expect("complete workflow");
    let info = b
        .describe_execution(&exec("wf", &run))
        .await
        .expect("describe");
    assert_eq!(info.close_status, Some(CloseStatus::Completed));
    assert!(info.closed.is_some());
    let history = b.history(&exec("wf", &run)).await.expect("history");
    assert_eq!(
        names(&history),
        [
            "WorkflowExecutionStarted",
            "DecisionTaskScheduled",
            "DecisionTaskStarted",
            "DecisionTaskCompleted",
            "ActivityTaskScheduled",
            "ActivityTaskStarted",
            "ActivityTaskCompleted",
            "DecisionTaskScheduled",
            "DecisionTaskStarted",
            "DecisionTaskCompleted",
            "WorkflowExecutionCompleted",
        ]
    );
    let ids: Vec<i64> = history.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=11).collect::<Vec<_>>());
    // Nothing left to do.
    assert!(b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .is_none());
}

#[tokio::test]
async fn at_most_one_open_decision_task_per_execution() {
    let (_dir, b) = setup().await;
    let run = start(&b, "wf").await;
    let d = b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .expect("task");
    // New events while the decision task is started: no second task.
    b.request_cancel(&WorkflowId::from("wf"), None)
        .await
        .expect("cancel request");
    b.request_cancel(&WorkflowId::from("wf"), Some(&run))
        .await
        .expect("cancel request 2");
    assert!(b
        .poll_decision_task(DECISIONS, "d2")
        .await
        .expect("poll")
        .is_none());
    // Completing it schedules exactly one follow-up.
    b.complete_decision_task(&d.token, vec![], None)
        .await
        .expect("complete");
    let d2 = b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .expect("follow-up");
    assert!(b
        .poll_decision_task(DECISIONS, "d2")
        .await
        .expect("poll")
        .is_none());
    let scheduled = d2
        .events
        .iter()
        .filter(|e| e.kind.name() == "DecisionTaskScheduled")
        .count();
    assert_eq!(scheduled, 2, "{:?}", names(&d2.events));
    // SWF order: the follow-up is scheduled after the completion.
    let tail: Vec<&str> = names(&d2.events).into_iter().rev().take(3).collect();
    assert_eq!(
        tail,
        [
            "DecisionTaskStarted",
            "DecisionTaskScheduled",
            "DecisionTaskCompleted"
        ]
    );
    assert!(
        b.describe_execution(&exec("wf", &run))
            .await
            .expect("describe")
            .cancel_requested
    );
}

#[tokio::test]
async fn close_decision_with_unseen_events_fails_unhandled_decision() {
    let (_dir, b) = setup().await;
    let run = start(&b, "wf").await;
    let d = b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .expect("task");
    b.request_cancel(&WorkflowId::from("wf"), None)
        .await
        .expect("cancel request");
    b.complete_decision_task(
        &d.token,
        vec![Decision::CompleteWorkflowExecution { result: None }],
        None,
    )
    .await
    .expect("complete");
    let info = b
        .describe_execution(&exec("wf", &run))
        .await
        .expect("describe");
    assert_eq!(info.close_status, None, "must still be open");
    let d2 = b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .expect("new decision task");
    assert_eq!(
        last_kind(&d2.events, "CompleteWorkflowExecutionFailed"),
        EventKind::CompleteWorkflowExecutionFailed {
            cause: "UNHANDLED_DECISION".into()
        }
    );
    b.complete_decision_task(
        &d2.token,
        vec![Decision::CancelWorkflowExecution { details: None }],
        None,
    )
    .await
    .expect("cancel");
    let info = b
        .describe_execution(&exec("wf", &run))
        .await
        .expect("describe");
    assert_eq!(info.close_status, Some(CloseStatus::Canceled));
}

#[tokio::test]
async fn bad_decisions_produce_failure_events() {
    let (_dir, b) = setup().await;
    start(&b, "wf").await;
    let d = b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .expect("task");
    let mut unknown = schedule("x", ActivityTimeouts::default());
    if let Decision::ScheduleActivityTask { activity_type, .. } = &mut unknown {
        *activity_type = TypeRef::new("Unknown", "1");
    }
    let timer = Decision::StartTimer {
        timer_id: "t".into(),
        control: None,
        start_to_fire: Duration::from_secs(60),
    };
    b.complete_decision_task(
        &d.token,
        vec![
            unknown,
            schedule("a", ActivityTimeouts::default()),
            schedule("a", ActivityTimeouts::default()),
            timer.clone(),
            timer,
            Decision::RequestCancelActivityTask {
                activity_id: "nothing".into(),
            },
        ],
        None,
    )
    .await
    .expect("complete");
    let d = b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .expect("task");
    let causes: Vec<String> = d
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::ScheduleActivityTaskFailed { cause, .. } => Some(cause.clone()),
            EventKind::StartTimerFailed { cause, .. } => Some(cause.clone()),
            EventKind::Other { name } => Some(name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        causes,
        [
            "ACTIVITY_TYPE_DOES_NOT_EXIST",
            "ACTIVITY_ID_ALREADY_IN_USE",
            "TIMER_ID_ALREADY_IN_USE",
            "RequestCancelActivityTaskFailed"
        ]
    );
    // The valid ones went through: one activity task, one timer.
    assert!(b
        .poll_activity_task(WORK, "w")
        .await
        .expect("poll")
        .is_some());
}

/// Schedule one activity with `timeouts` on a fresh execution; returns the backend.
async fn with_activity(
    timeouts: ActivityTimeouts,
) -> (tempfile::TempDir, pressbot_local::LocalBackend) {
    let (dir, b) = setup().await;
    start(&b, "wf").await;
    let d = b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .expect("task");
    b.complete_decision_task(&d.token, vec![schedule("act", timeouts)], None)
        .await
        .expect("schedule");
    (dir, b)
}

async fn timed_out(b: &pressbot_local::LocalBackend) -> (ActivityTimeoutType, i64, Option<String>) {
    let d = b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .expect("decision after timeout");
    match last_kind(&d.events, "ActivityTaskTimedOut") {
        EventKind::ActivityTaskTimedOut {
            timeout_type,
            started_event_id,
            details,
            ..
        } => (timeout_type, started_event_id, details),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn schedule_to_start_timeout() {
    let (_dir, b) = with_activity(ActivityTimeouts {
        schedule_to_start: Some(secs(1.0)),
        ..Default::default()
    })
    .await;
    tokio::time::sleep(secs(1.1)).await;
    let (kind, started, _) = timed_out(&b).await;
    assert_eq!(kind, ActivityTimeoutType::ScheduleToStart);
    assert_eq!(started, 0);
    assert!(b
        .poll_activity_task(WORK, "w")
        .await
        .expect("poll")
        .is_none());
}

#[tokio::test]
async fn start_to_close_timeout() {
    let (_dir, b) = with_activity(ActivityTimeouts {
        start_to_close: Some(secs(1.0)),
        ..Default::default()
    })
    .await;
    let a = b
        .poll_activity_task(WORK, "w")
        .await
        .expect("poll")
        .expect("task");
    tokio::time::sleep(secs(1.1)).await;
    let e = b
        .complete_activity_task(&a.token, None)
        .await
        .expect_err("timed out");
    assert!(matches!(e, Error::UnknownTask { .. }), "{e}");
    let (kind, started, _) = timed_out(&b).await;
    assert_eq!(kind, ActivityTimeoutType::StartToClose);
    assert_eq!(started, a.started_event_id);
}

#[tokio::test]
async fn schedule_to_close_timeout() {
    let (_dir, b) = with_activity(ActivityTimeouts {
        schedule_to_close: Some(secs(1.0)),
        start_to_close: Some(secs(30.0)),
        ..Default::default()
    })
    .await;
    let a = b
        .poll_activity_task(WORK, "w")
        .await
        .expect("poll")
        .expect("task");
    tokio::time::sleep(secs(1.1)).await;
    let e = b.heartbeat(&a.token, None).await.expect_err("timed out");
    assert!(matches!(e, Error::UnknownTask { .. }), "{e}");
    let (kind, _, _) = timed_out(&b).await;
    assert_eq!(kind, ActivityTimeoutType::ScheduleToClose);
}

#[tokio::test]
async fn heartbeat_timeout() {
    let (_dir, b) = with_activity(ActivityTimeouts {
        heartbeat: Some(secs(1.0)),
        start_to_close: Some(secs(30.0)),
        ..Default::default()
    })
    .await;
    let a = b
        .poll_activity_task(WORK, "w")
        .await
        .expect("poll")
        .expect("task");
    // Heartbeats within the timeout keep it alive past one timeout's length.
    for i in 0..3 {
        tokio::time::sleep(secs(0.5)).await;
        b.heartbeat(&a.token, Some(format!("beat {i}")))
            .await
            .expect("alive");
    }
    tokio::time::sleep(secs(1.1)).await;
    let e = b.heartbeat(&a.token, None).await.expect_err("timed out");
    assert!(matches!(e, Error::UnknownTask { .. }), "{e}");
    let (kind, _, details) = timed_out(&b).await;
    assert_eq!(kind, ActivityTimeoutType::Heartbeat);
    assert_eq!(details.as_deref(), Some("beat 2"));
}

#[tokio::test]
async fn timer_fires_and_schedules_a_decision() {
    let (_dir, b) = setup().await;
    start(&b, "wf").await;
    let d = b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .expect("task");
    b.complete_decision_task(
        &d.token,
        vec![Decision::StartTimer {
            timer_id: "retry-1".into(),
            control: Some("c".into()),
            start_to_fire: secs(1.0),
        }],
        None,
    )
    .await
    .expect("timer");
    assert!(b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .is_none());
    tokio::time::sleep(secs(0.8)).await;
    // The long poll itself notices the timer falling due.
    let d = b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .expect("fired");
    assert!(matches!(
        last_kind(&d.events, "TimerFired"),
        EventKind::TimerFired { timer_id, .. } if timer_id == "retry-1"
    ));
}

#[tokio::test]
async fn execution_timeout_closes_and_abandons_tasks() {
    let (_dir, b) = setup().await;
    let mut r = request("wf");
    r.execution_start_to_close = secs(1.0);
    let StartOutcome::Started { run_id } = b.start_workflow(r).await.expect("start") else {
        panic!("not started")
    };
    let d = b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .expect("task");
    b.complete_decision_task(
        &d.token,
        vec![schedule("a", ActivityTimeouts::default())],
        None,
    )
    .await
    .expect("schedule");
    tokio::time::sleep(secs(1.1)).await;
    assert_eq!(b.sweep().await.expect("sweep"), 1);
    let info = b
        .describe_execution(&exec("wf", &run_id))
        .await
        .expect("describe");
    assert_eq!(info.close_status, Some(CloseStatus::TimedOut));
    let history = b.history(&exec("wf", &run_id)).await.expect("history");
    assert_eq!(names(&history).last(), Some(&"WorkflowExecutionTimedOut"));
    assert!(b
        .poll_activity_task(WORK, "w")
        .await
        .expect("poll")
        .is_none());
    // A new run may start.
    start(&b, "wf").await;
}

#[tokio::test]
async fn decision_task_timeout_reschedules() {
    let (_dir, b) = setup().await;
    let mut r = request("wf");
    r.decision_task_start_to_close = secs(1.0);
    b.start_workflow(r).await.expect("start");
    let d = b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .expect("task");
    tokio::time::sleep(secs(1.1)).await;
    let e = b
        .complete_decision_task(&d.token, vec![], None)
        .await
        .expect_err("timed out");
    assert!(matches!(e, Error::UnknownTask { .. }), "{e}");
    let d2 = b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .expect("again");
    assert!(names(&d2.events).contains(&"DecisionTaskTimedOut"));
    assert_eq!(d2.previous_started_event_id, 0);
}

#[tokio::test]
async fn cancel_requests_reach_heartbeats_and_unstarted_tasks() {
    let (_dir, b) = setup().await;
    start(&b, "wf").await;
    let d = b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .expect("task");
    b.complete_decision_task(
        &d.token,
        vec![
            schedule("running", ActivityTimeouts::default()),
            schedule("waiting", ActivityTimeouts::default()),
        ],
        None,
    )
    .await
    .expect("schedule");
    let a = b
        .poll_activity_task(WORK, "w")
        .await
        .expect("poll")
        .expect("task");
    assert_eq!(a.activity_id, "running");
    // An operator's cancel request reaches the decider, which cancels both.
    b.request_cancel(&WorkflowId::from("wf"), None)
        .await
        .expect("cancel");
    let d = b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .expect("task");
    assert!(names(&d.events).contains(&"WorkflowExecutionCancelRequested"));
    b.complete_decision_task(
        &d.token,
        vec![
            Decision::RequestCancelActivityTask {
                activity_id: "running".into(),
            },
            Decision::RequestCancelActivityTask {
                activity_id: "waiting".into(),
            },
        ],
        None,
    )
    .await
    .expect("request cancels");
    assert!(
        b.heartbeat(&a.token, None)
            .await
            .expect("heartbeat")
            .cancel_requested
    );
    // The unstarted one was canceled outright.
    let d = b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .expect("task");
    assert!(matches!(
        last_kind(&d.events, "ActivityTaskCanceled"),
        EventKind::ActivityTaskCanceled {
            started_event_id: 0,
            ..
        }
    ));
    b.complete_decision_task(&d.token, vec![], None)
        .await
        .expect("nothing");
    b.cancel_activity_task(&a.token, Some("stopped".into()))
        .await
        .expect("canceled");
    let d = b
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll")
        .expect("task");
    assert!(matches!(
        last_kind(&d.events, "ActivityTaskCanceled"),
        EventKind::ActivityTaskCanceled { details: Some(x), .. } if x == "stopped"
    ));
}

#[tokio::test]
async fn unknown_executions_are_not_found() {
    let (_dir, b) = setup().await;
    let e = b
        .request_cancel(&WorkflowId::from("nope"), None)
        .await
        .expect_err("unknown");
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    let e = b
        .history(&exec("nope", &pressbot_core::ids::RunId::from("r")))
        .await
        .expect_err("unknown");
    assert!(
        matches!(
            e,
            Error::NotFound {
                what: "execution",
                ..
            }
        ),
        "{e}"
    );
    let e = b
        .complete_activity_task(&pressbot_core::ids::TaskToken::from("bogus"), None)
        .await
        .expect_err("unknown token");
    assert!(matches!(e, Error::UnknownTask { .. }), "{e}");
    b.ping().await.expect("ping");
}

#[tokio::test]
async fn a_second_instance_sees_work_written_by_the_first() {
    let (dir, a) = setup().await;
    let other = open(dir.path());
    let mut opts = options();
    opts.long_poll = Duration::from_secs(5);
    let other_long = pressbot_local::LocalBackend::open(dir.path(), opts).expect("open");
    let poll = tokio::spawn(async move { other_long.poll_decision_task(DECISIONS, "p2").await });
    tokio::time::sleep(secs(0.1)).await;
    start(&a, "wf").await;
    let d = poll
        .await
        .expect("join")
        .expect("poll")
        .expect("seen across instances");
    assert_eq!(d.execution.workflow_id.as_str(), "wf");
    // And the other way round: complete on one, the activity is polled on the other.
    a.complete_decision_task(
        &d.token,
        vec![schedule("x", ActivityTimeouts::default())],
        None,
    )
    .await
    .expect("complete on the first instance");
    let t = other
        .poll_activity_task(WORK, "w")
        .await
        .expect("poll")
        .expect("task");
    a.complete_activity_task(&t.token, None)
        .await
        .expect("complete across");
}

#[tokio::test]
async fn concurrent_pollers_never_share_a_task() {
    let (dir, a) = setup().await;
    let b = open(dir.path());
    const N: usize = 12;
    for i in 0..N {
        start(&a, &format!("wf-{i}")).await;
    }
    let mut pollers = Vec::new();
    for p in 0..6 {
        let backend = if p % 2 == 0 { a.clone() } else { b.clone() };
        pollers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(d) = backend
                .poll_decision_task(DECISIONS, &format!("p{p}"))
                .await
                .expect("poll")
            {
                got.push((d.execution.workflow_id.0.clone(), d.token.0.clone()));
                backend
                    .complete_decision_task(
                        &d.token,
                        vec![schedule("only", ActivityTimeouts::default())],
                        None,
                    )
                    .await
                    .expect("complete");
            }
            got
        }));
    }
    let mut all = Vec::new();
    for p in pollers {
        all.extend(p.await.expect("join"));
    }
    assert_eq!(all.len(), N);
    let ids: HashSet<_> = all.iter().map(|(w, _)| w.clone()).collect();
    assert_eq!(
        ids.len(),
        N,
        "a workflow's decision task was handed out twice"
    );

    let mut workers = Vec::new();
    for p in 0..6 {
        let backend = if p % 2 == 0 { a.clone() } else { b.clone() };
        workers.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(t) = backend.poll_activity_task(WORK, "w").await.expect("poll") {
                got.push(t.execution.workflow_id.0.clone());
                backend
                    .complete_activity_task(&t.token, None)
                    .await
                    .expect("complete");
            }
            got
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.expect("join"));
    }
    let unique: HashSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), N);
    assert_eq!(unique.len(), N);
}

#[tokio::test]
async fn a_dropped_poll_leaves_no_task_claimed() {
    let (_dir, b) = setup().await;
    let mut delivered = 0;
    for i in 0..40 {
        // Drop polls at varying points, racing the claim.
        let polled = tokio::time::timeout(
            Duration::from_micros(40 * i),
            b.poll_decision_task(DECISIONS, "dropped"),
        )
        .await;
        if let Ok(Some(d)) = polled.map(|r| r.expect("poll")) {
            // Delivered to a poll that finished in time: hand it back by timing out.
            delivered += 1;
            b.complete_decision_task(&d.token, vec![], None)
                .await
                .expect("complete");
        }
        b.request_cancel(&WorkflowId::from("wf"), None).await.ok();
        if i == 0 {
            start(&b, "wf").await;
        }
    }
    // Hand-backs of dropped polls run in the background; give them a moment.
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Whatever was not delivered must still be there for the next poller.
    let d = b.poll_decision_task(DECISIONS, "d").await.expect("poll");
    assert!(d.is_some(), "a dropped poll left the decision task claimed");
    let started = d
        .expect("task")
        .events
        .iter()
        .filter(|e| e.kind.name() == "DecisionTaskStarted")
        .count();
    assert_eq!(started, delivered + 1, "a claim was lost to a dropped poll");
}

#[tokio::test]
async fn purge_removes_only_old_closed_executions() {
    let (_dir, b) = setup().await;
    let old = start(&b, "old").await;
    b.terminate(&WorkflowId::from("old"), None, "done")
        .await
        .expect("terminate");
    let open_run = start(&b, "open").await;
    let removed = b
        .purge_closed(pressbot_core::time::Timestamp::now().plus(Duration::from_secs(1)))
        .await
        .expect("purge");
    assert_eq!(removed, 1);
    let e = b.history(&exec("old", &old)).await.expect_err("purged");
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    assert_eq!(
        b.history(&exec("open", &open_run))
            .await
            .expect("kept")
            .len(),
        2
    );
}

#[tokio::test]
async fn list_filters_and_start_validation() {
    let (_dir, b) = setup().await;
    let before = pressbot_core::time::Timestamp::now();
    start(&b, "a").await;
    start(&b, "b").await;
    b.terminate(&WorkflowId::from("b"), None, "x")
        .await
        .expect("terminate");
    let list = |filter: ExecutionFilter| {
        let b = b.clone();
        async move {
            b.list_executions(&filter)
                .await
                .expect("list")
                .into_iter()
                .map(|i| i.execution.workflow_id.0)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list(ExecutionFilter {
            open: true,
            workflow_name: Some("Flow".into()),
            started_after: Some(before),
            ..Default::default()
        })
        .await,
        ["a"]
    );
    assert!(list(ExecutionFilter {
        open: true,
        workflow_name: Some("Other".into()),
        ..Default::default()
    })
    .await
    .is_empty());
    assert_eq!(
        list(ExecutionFilter {
            open: false,
            close_status: Some(CloseStatus::Terminated),
            ..Default::default()
        })
        .await,
        ["b"]
    );
    assert!(list(ExecutionFilter {
        open: false,
        close_status: Some(CloseStatus::Completed),
        ..Default::default()
    })
    .await
    .is_empty());

    let mut r = request("");
    let e = b.start_workflow(r.clone()).await.expect_err("empty id");
    assert!(e.to_string().contains("workflow id"), "{e}");
    r.workflow_id = WorkflowId::from("ok");
    r.execution_start_to_close = Duration::ZERO;
    let e = b.start_workflow(r).await.expect_err("zero timeout");
    assert!(e.to_string().contains("execution_start_to_close"), "{e}");
}
