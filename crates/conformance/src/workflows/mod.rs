//! `WorkflowService`: executions from start to close, and the helpers every
//! workflow check uses (a registered type, a started execution, the next task).

mod activities;

pub use activities::*;

use crate::{definitions, unique, ACTIVITY, DECISIONS, PATIENCE, WORK, WORKFLOW};
use pressbot_core::backend::{
    ActivityTask, Backend, CloseStatus, DecisionTask, ExecutionFilter, StartOutcome, StartRequest,
};
use pressbot_core::history::{ActivityTimeouts, Decision, EventKind};
use pressbot_core::ids::{TypeRef, WorkflowExecution, WorkflowId};
use pressbot_core::Error;
use std::time::{Duration, Instant};

pub(crate) fn workflow_type() -> TypeRef {
    TypeRef::new(WORKFLOW, "1")
}

pub(crate) fn request(id: &str) -> StartRequest {
    StartRequest {
        workflow_id: WorkflowId::from(id),
        workflow_type: workflow_type(),
        task_list: DECISIONS.into(),
        input: Some(r#"{"article":"00353"}"#.into()),
        execution_start_to_close: Duration::from_secs(600),
        decision_task_start_to_close: Duration::from_secs(60),
        tags: vec!["conformance".into()],
    }
}

pub(crate) async fn register(b: &Backend) {
    b.workflows
        .register(&definitions())
        .await
        .expect("register the suite's types");
}

pub(crate) async fn start(b: &Backend, id: &str) -> WorkflowExecution {
    match b
        .workflows
        .start_workflow(request(id))
        .await
        .expect("start")
    {
        StartOutcome::Started { run_id } => WorkflowExecution {
            workflow_id: WorkflowId::from(id),
            run_id,
        },
        other => panic!("start {id}: expected Started, got {other:?}"),
    }
}

pub(crate) fn schedule(activity_id: &str, timeouts: ActivityTimeouts) -> Decision {
    Decision::ScheduleActivityTask {
        activity_id: activity_id.into(),
        activity_type: TypeRef::new(ACTIVITY, "1"),
        input: Some(format!(r#"{{"id":"{activity_id}"}}"#)),
        control: Some("attempt=1".into()),
        task_list: WORK.into(),
        timeouts,
    }
}

pub(crate) fn timeouts(start_to_close: u64, heartbeat: Option<u64>) -> ActivityTimeouts {
    ActivityTimeouts {
        schedule_to_start: Some(Duration::from_secs(300)),
        start_to_close: Some(Duration::from_secs(start_to_close)),
        schedule_to_close: None,
        heartbeat: heartbeat.map(Duration::from_secs),
    }
}

/// Poll until a decision task comes (an empty long poll is not an error).
pub(crate) async fn next_decision(b: &Backend) -> DecisionTask {
    let start = Instant::now();
    loop {
        if let Some(t) = b
            .workflows
            .poll_decision_task(DECISIONS, "decider-c")
            .await
            .expect("poll decision")
        {
            return t;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "no decision task within {PATIENCE:?}"
        );
    }
}

pub(crate) async fn next_activity(b: &Backend) -> ActivityTask {
    let start = Instant::now();
    loop {
        if let Some(t) = b
            .workflows
            .poll_activity_task(WORK, "worker-c")
            .await
            .expect("poll activity")
        {
            return t;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "no activity task within {PATIENCE:?}"
        );
    }
}

pub(crate) fn names(task: &DecisionTask) -> Vec<&str> {
    task.events.iter().map(|e| e.kind.name()).collect()
}

/// A decision task whose history holds an event of kind `name`: earlier
/// decision tasks (e.g. one scheduled by a timeout) are answered with no
/// decisions, as a decider waiting for that event would.
pub(crate) async fn decision_with(b: &Backend, name: &str) -> DecisionTask {
    let start = Instant::now();
    loop {
        let task = next_decision(b).await;
        if task.events.iter().any(|e| e.kind.name() == name) {
            return task;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "no {name} within {PATIENCE:?}: {:?}",
            names(&task)
        );
        b.workflows
            .complete_decision_task(&task.token, vec![], None)
            .await
            .expect("empty decision");
    }
}

pub(crate) async fn complete_workflow(b: &Backend, task: &DecisionTask) {
    b.workflows
        .complete_decision_task(
            &task.token,
            vec![Decision::CompleteWorkflowExecution {
                result: Some("done".into()),
            }],
            None,
        )
        .await
        .expect("complete workflow");
}

/// Start → decision task (first history) → schedule → activity task →
/// complete → decision task with the whole history → complete workflow;
/// spent tokens are `UnknownTask`; describe, history and list agree.
pub async fn workflow_round_trip(b: &Backend) {
    register(b).await;
    let id = unique("wf-trip");
    let execution = start(b, &id).await;

    let task = next_decision(b).await;
    assert_eq!(task.execution, execution);
    assert_eq!(task.workflow_type, workflow_type());
    assert_eq!(
        names(&task),
        [
            "WorkflowExecutionStarted",
            "DecisionTaskScheduled",
            "DecisionTaskStarted"
        ]
    );
    match &task.events[0].kind {
        EventKind::WorkflowExecutionStarted {
            workflow_type: t,
            input,
            task_list,
            execution_start_to_close,
        } => {
            assert_eq!(t, &workflow_type());
            assert_eq!(input.as_deref(), Some(r#"{"article":"00353"}"#));
            assert_eq!(task_list, DECISIONS);
            assert_eq!(*execution_start_to_close, Some(Duration::from_secs(600)));
        }
        other => panic!("first event: {other:?}"),
    }
    assert_eq!(task.started_event_id, 3);
    assert!(task.events[0].timestamp.millis() > 1_600_000_000_000);
    b.workflows
        .complete_decision_task(
            &task.token,
            vec![schedule("ping", timeouts(60, Some(30)))],
            Some("ctx-1".into()),
        )
        .await
        .expect("schedule");
    let spent = b
        .workflows
        .complete_decision_task(&task.token, vec![], None)
        .await
        .unwrap_err();
    assert!(
        matches!(spent, Error::UnknownTask { .. }),
        "spent decision token: {spent:?}"
    );

    let act = next_activity(b).await;
    assert_eq!(act.execution, execution);
    assert_eq!(act.activity_id, "ping");
    assert_eq!(act.activity_type, TypeRef::new(ACTIVITY, "1"));
    assert_eq!(act.input.as_deref(), Some(r#"{"id":"ping"}"#));
    b.workflows
        .complete_activity_task(&act.token, Some(r#"{"pong":true}"#.into()))
        .await
        .expect("complete activity");
    let spent = b
        .workflows
        .complete_activity_task(&act.token, None)
        .await
        .unwrap_err();
    assert!(
        matches!(spent, Error::UnknownTask { .. }),
        "spent activity token: {spent:?}"
    );

    let task = next_decision(b).await;
    let ids: Vec<i64> = task.events.iter().map(|e| e.id).collect();
    assert_eq!(
        ids,
        (1..=ids.len() as i64).collect::<Vec<_>>(),
        "event ids are dense from 1"
    );
    assert_eq!(task.previous_started_event_id, 3);
    assert_eq!(task.started_event_id, *ids.last().expect("events"));
    let kinds: Vec<&EventKind> = task.events.iter().map(|e| &e.kind).collect();
    assert!(kinds.iter().any(|k| matches!(k,
        EventKind::DecisionTaskCompleted { scheduled_event_id: 2, started_event_id: 3, execution_context }
            if execution_context.as_deref() == Some("ctx-1"))), "{kinds:#?}");
    let scheduled = task
        .events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::ActivityTaskScheduled {
                activity_id,
                task_list,
                control,
                timeouts,
                ..
            } => {
                assert_eq!(activity_id, "ping");
                assert_eq!(task_list, WORK);
                assert_eq!(control.as_deref(), Some("attempt=1"));
                assert_eq!(timeouts.start_to_close, Some(Duration::from_secs(60)));
                assert_eq!(timeouts.heartbeat, Some(Duration::from_secs(30)));
                Some(e.id)
            }
            _ => None,
        })
        .expect("ActivityTaskScheduled");
    assert!(
        kinds.iter().any(|k| matches!(k,
        EventKind::ActivityTaskStarted { scheduled_event_id, identity }
            if *scheduled_event_id == scheduled && identity.as_deref() == Some("worker-c"))),
        "{kinds:#?}"
    );
    assert!(
        kinds.iter().any(|k| matches!(k,
        EventKind::ActivityTaskCompleted { scheduled_event_id, result, .. }
            if *scheduled_event_id == scheduled && result.as_deref() == Some(r#"{"pong":true}"#))),
        "{kinds:#?}"
    );
    complete_workflow(b, &task).await;

    let info = b
        .workflows
        .describe_execution(&execution)
        .await
        .expect("describe");
    assert_eq!(info.close_status, Some(CloseStatus::Completed));
    assert!(info.closed.is_some());
    let history = b.workflows.history(&execution).await.expect("history");
    assert!(matches!(&history.last().expect("events").kind,
        EventKind::WorkflowExecutionCompleted { result } if result.as_deref() == Some("done")));
    let closed = b
        .workflows
        .list_executions(&ExecutionFilter {
            open: false,
            close_status: Some(CloseStatus::Completed),
            ..Default::default()
        })
        .await
        .expect("list closed");
    assert!(
        closed.iter().any(|e| e.execution == execution),
        "{closed:?}"
    );
    assert!(b
        .workflows
        .list_executions(&ExecutionFilter {
            open: true,
            ..Default::default()
        })
        .await
        .expect("list open")
        .is_empty());
}

/// A second start with the id of an open execution is `AlreadyRunning`;
/// once that execution closed, the id can start a new run. Starting an
/// unregistered type is a plain error that names the workflow id.
pub async fn duplicate_start(b: &Backend) {
    register(b).await;
    let id = unique("wf-dup");
    let first = start(b, &id).await;
    let again = b
        .workflows
        .start_workflow(request(&id))
        .await
        .expect("second start");
    assert_eq!(again, StartOutcome::AlreadyRunning);
    let open = b
        .workflows
        .list_executions(&ExecutionFilter {
            open: true,
            workflow_id: Some(WorkflowId::from(id.as_str())),
            ..Default::default()
        })
        .await
        .expect("list open");
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].execution, first);
    assert_eq!(open[0].close_status, None);

    b.workflows
        .terminate(&first.workflow_id, Some(&first.run_id), "test")
        .await
        .expect("terminate");
    let info = b
        .workflows
        .describe_execution(&first)
        .await
        .expect("describe");
    assert_eq!(info.close_status, Some(CloseStatus::Terminated));
    let second = start(b, &id).await;
    assert_ne!(second.run_id, first.run_id, "a new run");

    let mut bad = request(&unique("wf-bad"));
    bad.workflow_type = TypeRef::new("NotRegistered", "9");
    let err = b
        .workflows
        .start_workflow(bad.clone())
        .await
        .expect_err("unregistered type");
    assert!(!err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains(bad.workflow_id.as_str()), "{err}");
}

/// A decision task not answered within its start-to-close timeout times out
/// and a new one is scheduled, with the timeout in its history.
pub async fn decision_task_timeout(b: &Backend) {
    register(b).await;
    let mut req = request(&unique("wf-dtmo"));
    req.decision_task_start_to_close = Duration::from_secs(1);
    let execution = match b.workflows.start_workflow(req).await.expect("start") {
        StartOutcome::Started { run_id } => run_id,
        other => panic!("expected Started, got {other:?}"),
    };
    let stale = next_decision(b).await;
    assert_eq!(stale.execution.run_id, execution);
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let task = decision_with(b, "DecisionTaskTimedOut").await;
    assert!(
        task.events.iter().any(|e| matches!(
            e.kind,
            EventKind::DecisionTaskTimedOut {
                scheduled_event_id: 2,
                started_event_id: 3
            }
        )),
        "{:?}",
        names(&task)
    );
    assert_ne!(task.token, stale.token, "a new task, a new token");
    complete_workflow(b, &task).await;
}

/// Listing filters by open/closed, workflow id, workflow name, close status
/// and start time, the same way on both backends.
pub async fn list_filters(b: &Backend) {
    register(b).await;
    let before = pressbot_core::time::Timestamp::now();
    let open_one = start(b, &unique("wf-open")).await;
    let done = start(b, &unique("wf-done")).await;
    b.workflows
        .terminate(&done.workflow_id, Some(&done.run_id), "test")
        .await
        .expect("terminate");
    let list = |filter: ExecutionFilter| async move {
        b.workflows
            .list_executions(&filter)
            .await
            .expect("list")
            .into_iter()
            .map(|e| e.execution)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        list(ExecutionFilter {
            open: true,
            ..Default::default()
        })
        .await,
        vec![open_one.clone()]
    );
    assert_eq!(
        list(ExecutionFilter {
            open: false,
            ..Default::default()
        })
        .await,
        vec![done.clone()]
    );
    assert_eq!(
        list(ExecutionFilter {
            open: false,
            close_status: Some(CloseStatus::Terminated),
            ..Default::default()
        })
        .await,
        vec![done.clone()]
    );
    assert!(list(ExecutionFilter {
        open: false,
        close_status: Some(CloseStatus::Completed),
        ..Default::default()
    })
    .await
    .is_empty());
    assert_eq!(
        list(ExecutionFilter {
            open: true,
            workflow_name: Some(WORKFLOW.into()),
            ..Default::default()
        })
        .await,
        vec![open_one.clone()]
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
            workflow_id: Some(done.workflow_id.clone()),
            ..Default::default()
        })
        .await,
        vec![done.clone()]
    );
    assert_eq!(
        list(ExecutionFilter {
            open: true,
            started_after: Some(before),
            ..Default::default()
        })
        .await,
        vec![open_one.clone()]
    );
    let info = b
        .workflows
        .describe_execution(&open_one)
        .await
        .expect("describe");
    assert_eq!(info.workflow_type, workflow_type());
    assert_eq!((info.close_status, info.closed), (None, None));
    assert!(!info.cancel_requested);
}
