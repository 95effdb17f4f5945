//! One conformance suite for core's backend traits, written once against
//! [`Backend`] and run unchanged on the embedded backend and on the AWS
//! backend against `moto_server` (see `tests/local.rs`, `tests/aws.rs`).
//!
//! Each function is one behaviour the trait docs (and DESIGN.md) promise on
//! both backends, checked only through the traits. A function creates
//! everything it needs itself (types, queues, buckets) under names unique
//! to the call, so tests may share one moto; a fixture from [`backends`]
//! gives each test its own SWF domain / data dir.
//!
//! Where moto cannot do what AWS does (see `pressbot_aws::testing`), the
//! function still lives here and `tests/aws.rs` marks it `#[ignore]` with
//! the reason, so the gap is visible instead of the check being weakened.
//!
//! Failures panic with what was expected and what came back: this is a
//! test library, and a panic is how a test says so.

pub mod backends;

use bytes::Bytes;
use pressbot_core::backend::{
    dead_letter_queue_name, ActivityTask, Backend, CloseStatus, DecisionTask, ExecutionFilter,
    OutgoingMessage, PutOptions, StartOutcome, StartRequest,
};
use pressbot_core::definition::{Definitions, WorkflowDefinition};
use pressbot_core::history::{ActivityTimeoutType, ActivityTimeouts, Decision, EventKind};
use pressbot_core::ids::{RunId, TypeRef, WorkflowExecution, WorkflowId};
use pressbot_core::messages::{parse_s3_notification, S3Notification, S3Record};
use pressbot_core::Error;
use std::path::Path;
use std::time::{Duration, Instant};

/// Decision task list of the suite's workflow type.
pub const DECISIONS: &str = "decisions";
/// Activity task list of the suite's activity type.
pub const WORK: &str = "work";
const WORKFLOW: &str = "Conform";
const ACTIVITY: &str = "PingWorker";

/// How long a helper waits for a task or message that must come. Generous
/// against a loaded CI machine; only a failing test waits this long.
const PATIENCE: Duration = Duration::from_secs(30);

const DEFINITION: &str = r#"
name = "Conform"
version = "1"
task_list = "decisions"
execution_start_to_close = "10m"

[defaults]
start_to_close = "1m"
schedule_to_start = "5m"
heartbeat = "30s"
retry = { max_attempts = 3, initial = "1s", backoff = 2.0, max = "10s" }

[[step]]
activity = "PingWorker"
task_list = "work"
"#;

/// The suite's one workflow type and its activity type.
pub fn definitions() -> Definitions {
    let def = WorkflowDefinition::from_toml_str(DEFINITION, Path::new("Conform.toml"), &|_| true)
        .expect("the suite's workflow definition is valid");
    let mut defs = Definitions::default();
    defs.insert(def).expect("one definition");
    defs
}

/// A name no other call uses (buckets and queues are global on moto).
pub fn unique(base: &str) -> String {
    format!(
        "{base}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

fn workflow_type() -> TypeRef {
    TypeRef::new(WORKFLOW, "1")
}

fn request(id: &str) -> StartRequest {
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

async fn register(b: &Backend) {
    b.workflows
        .register(&definitions())
        .await
        .expect("register the suite's types");
}

async fn start(b: &Backend, id: &str) -> WorkflowExecution {
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

fn schedule(activity_id: &str, timeouts: ActivityTimeouts) -> Decision {
    Decision::ScheduleActivityTask {
        activity_id: activity_id.into(),
        activity_type: TypeRef::new(ACTIVITY, "1"),
        input: Some(format!(r#"{{"id":"{activity_id}"}}"#)),
        control: Some("attempt=1".into()),
        task_list: WORK.into(),
        timeouts,
    }
}

fn timeouts(start_to_close: u64, heartbeat: Option<u64>) -> ActivityTimeouts {
    ActivityTimeouts {
        schedule_to_start: Some(Duration::from_secs(300)),
        start_to_close: Some(Duration::from_secs(start_to_close)),
        schedule_to_close: None,
        heartbeat: heartbeat.map(Duration::from_secs),
    }
}

/// Poll until a decision task comes (an empty long poll is not an error).
async fn next_decision(b: &Backend) -> DecisionTask {
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

async fn next_activity(b: &Backend) -> ActivityTask {
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

fn names(task: &DecisionTask) -> Vec<&str> {
    task.events.iter().map(|e| e.kind.name()).collect()
}

/// A decision task whose history holds an event of kind `name`: earlier
/// decision tasks (e.g. one scheduled by a timeout) are answered with no
/// decisions, as a decider waiting for that event would.
async fn decision_with(b: &Backend, name: &str) -> DecisionTask {
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

async fn complete_workflow(b: &Backend, task: &DecisionTask) {
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

/// Empty polls are `None` / an empty batch, never an error.
pub async fn empty_polls(b: &Backend) {
    register(b).await;
    assert!(b
        .workflows
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll decision")
        .is_none());
    assert!(b
        .workflows
        .poll_activity_task(WORK, "w")
        .await
        .expect("poll activity")
        .is_none());
    let queue = unique("empty");
    b.queues
        .create_queue(&queue, 3)
        .await
        .expect("create queue");
    let got = b
        .queues
        .receive(&queue, 10, Duration::from_secs(1), Duration::from_secs(30))
        .await
        .expect("receive");
    assert!(got.is_empty(), "{got:?}");
}

/// Unknown executions and objects are `NotFound`; a send to an unknown
/// queue is a permanent error naming the queue. (Queues differ in kind on
/// purpose: the AWS backend answers with a `Backend` error that says to run
/// `pressbot create-resources`, the embedded one with `NotFound`.)
pub async fn unknown_things_are_not_found(b: &Backend) {
    register(b).await;
    let ghost = WorkflowExecution {
        workflow_id: WorkflowId::from("ghost"),
        run_id: RunId::from("22abcdefabcdef"),
    };
    let e = b.workflows.describe_execution(&ghost).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "describe: {e:?}");
    let e = b
        .workflows
        .terminate(&ghost.workflow_id, None, "x")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "terminate: {e:?}");
    let missing = unique("no-such-queue");
    let e = b
        .queues
        .send(&missing, OutgoingMessage::new("x"))
        .await
        .unwrap_err();
    assert!(!e.is_retryable(), "send: {e:?}");
    assert!(e.to_string().contains(&missing), "send: {e}");
    let bucket = unique("nf");
    b.objects
        .create_bucket(&bucket)
        .await
        .expect("create bucket");
    let e = b.objects.get(&bucket, "missing").await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "get: {e:?}");
    assert_eq!(
        b.objects.head(&bucket, "missing").await.expect("head"),
        None
    );
}

async fn receive_one(
    b: &Backend,
    queue: &str,
    visibility: Duration,
) -> pressbot_core::backend::ReceivedMessage {
    let start = Instant::now();
    loop {
        let mut got = b
            .queues
            .receive(queue, 1, Duration::from_secs(1), visibility)
            .await
            .expect("receive");
        if let Some(m) = got.pop() {
            assert!(got.is_empty());
            return m;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "no message on {queue} within {PATIENCE:?}"
        );
    }
}

/// Send with attributes → receive (hidden for the visibility timeout,
/// counted in flight) → visible again when it expires, with a new receipt
/// and a higher receive count → hand back at once → delete → empty.
pub async fn queue_visibility_and_redelivery(b: &Backend) {
    let queue = unique("vis");
    b.queues
        .create_queue(&queue, 5)
        .await
        .expect("create queue");
    b.queues
        .create_queue(&queue, 5)
        .await
        .expect("create queue again changes nothing");
    let mut msg = OutgoingMessage::new(r#"{"workflow_name":"Ping"}"#);
    msg.attributes.insert("source".into(), "conformance".into());
    let id = b.queues.send(&queue, msg.clone()).await.expect("send");
    assert!(!id.is_empty());
    assert_eq!(b.queues.depth(&queue).await.expect("depth").visible, 1);

    let first = receive_one(b, &queue, Duration::from_secs(2)).await;
    assert_eq!(first.id, id);
    assert_eq!(first.body, msg.body);
    assert_eq!(
        first.attributes.get("source").map(String::as_str),
        Some("conformance")
    );
    assert_eq!(first.receive_count, 1);
    assert!(first.sent.millis() > 1_600_000_000_000);
    let depth = b.queues.depth(&queue).await.expect("depth");
    assert_eq!((depth.visible, depth.in_flight), (0, 1), "{depth:?}");
    let hidden = b
        .queues
        .receive(&queue, 10, Duration::ZERO, Duration::from_secs(30))
        .await
        .expect("receive");
    assert!(hidden.is_empty(), "hidden while in flight: {hidden:?}");

    // The visibility timeout runs out: delivered again.
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let second = receive_one(b, &queue, Duration::from_secs(30)).await;
    assert_eq!(second.id, id);
    assert_eq!(second.receive_count, 2);
    assert_ne!(second.receipt, first.receipt, "a new receipt per receive");

    // Handed back at once.
    b.queues
        .change_visibility(&queue, &second.receipt, Duration::ZERO)
        .await
        .expect("change visibility");
    let third = receive_one(b, &queue, Duration::from_secs(30)).await;
    assert_eq!((third.id.as_str(), third.receive_count), (id.as_str(), 3));
    b.queues
        .delete(&queue, &third.receipt)
        .await
        .expect("delete");
    assert_eq!(
        b.queues.depth(&queue).await.expect("depth"),
        Default::default()
    );
    assert!(b
        .queues
        .receive(&queue, 10, Duration::from_secs(1), Duration::from_secs(30))
        .await
        .expect("receive")
        .is_empty());
}

/// A delayed message is counted as delayed and only then becomes visible.
pub async fn delayed_message(b: &Backend) {
    let queue = unique("delay");
    b.queues
        .create_queue(&queue, 5)
        .await
        .expect("create queue");
    let mut msg = OutgoingMessage::new("later");
    msg.delay = Some(Duration::from_secs(3));
    b.queues.send(&queue, msg).await.expect("send delayed");
    assert_eq!(b.queues.depth(&queue).await.expect("depth").delayed, 1);
    let now = b
        .queues
        .receive(&queue, 10, Duration::ZERO, Duration::from_secs(30))
        .await
        .expect("receive");
    assert!(now.is_empty(), "delayed message delivered early: {now:?}");
    tokio::time::sleep(Duration::from_millis(3300)).await;
    let m = receive_one(b, &queue, Duration::from_secs(30)).await;
    assert_eq!(m.body, "later");
}

/// After `max_receives` receives a message moves to the queue's
/// dead-letter queue (named by [`dead_letter_queue_name`]).
pub async fn dead_letter_after_max_receives(b: &Backend) {
    let queue = unique("dlq");
    b.queues
        .create_queue(&queue, 2)
        .await
        .expect("create queue");
    b.queues
        .send(&queue, OutgoingMessage::new("poison"))
        .await
        .expect("send");
    for n in 1..=2 {
        let m = receive_one(b, &queue, Duration::from_secs(30)).await;
        assert_eq!(m.receive_count, n);
        b.queues
            .change_visibility(&queue, &m.receipt, Duration::ZERO)
            .await
            .expect("hand back");
    }
    let after = b
        .queues
        .receive(&queue, 10, Duration::from_secs(1), Duration::from_secs(30))
        .await
        .expect("receive");
    assert!(
        after.is_empty(),
        "still on the queue after max receives: {after:?}"
    );
    let dead = receive_one(b, &dead_letter_queue_name(&queue), Duration::from_secs(30)).await;
    assert_eq!(dead.body, "poison");
}

/// Put (with content type and cache control) → head → get → list by
/// prefix in key order → copy across buckets → delete (twice is fine) →
/// gone; a presigned GET URL names the object.
pub async fn object_put_get_list_copy_delete(b: &Backend) {
    let bucket = unique("objects");
    let other = unique("archive");
    b.objects
        .create_bucket(&bucket)
        .await
        .expect("create bucket");
    b.objects
        .create_bucket(&bucket)
        .await
        .expect("create bucket again is fine");
    b.objects
        .create_bucket(&other)
        .await
        .expect("create other bucket");
    let options = PutOptions {
        content_type: Some("application/zip".into()),
        cache_control: Some("max-age=60".into()),
    };
    let put = b
        .objects
        .put(
            &bucket,
            "a/one.zip",
            Bytes::from_static(b"PK\x03\x04hello"),
            options.clone(),
        )
        .await
        .expect("put");
    assert_eq!((put.key.as_str(), put.size), ("a/one.zip", 9));
    assert!(!put.etag.is_empty());
    for key in ["a/two.xml", "a/b/three.pdf", "b/four"] {
        b.objects
            .put(
                &bucket,
                key,
                Bytes::from(key.to_owned()),
                PutOptions::default(),
            )
            .await
            .expect("put");
    }
    let head = b
        .objects
        .head(&bucket, "a/one.zip")
        .await
        .expect("head")
        .expect("exists");
    assert_eq!(head.etag, put.etag);
    assert_eq!(head.size, 9);
    assert_eq!(head.content_type.as_deref(), Some("application/zip"));
    assert_eq!(head.cache_control.as_deref(), Some("max-age=60"));
    assert!(head.last_modified.millis() > 1_600_000_000_000);
    let got = b.objects.get(&bucket, "a/one.zip").await.expect("get");
    assert_eq!(&got.body[..], b"PK\x03\x04hello");
    assert_eq!(got.meta.etag, put.etag);
    assert_eq!(got.meta.content_type.as_deref(), Some("application/zip"));

    let listed: Vec<String> = b
        .objects
        .list(&bucket, "a/")
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(listed, ["a/b/three.pdf", "a/one.zip", "a/two.xml"]);
    assert_eq!(
        b.objects.list(&bucket, "").await.expect("list all").len(),
        4
    );
    assert!(b
        .objects
        .list(&bucket, "zzz/")
        .await
        .expect("list none")
        .is_empty());

    let copied = b
        .objects
        .copy(&bucket, "a/one.zip", &other, "kept/one.zip")
        .await
        .expect("copy");
    assert_eq!(copied.size, 9);
    let got = b
        .objects
        .get(&other, "kept/one.zip")
        .await
        .expect("get copy");
    assert_eq!(&got.body[..], b"PK\x03\x04hello");
    assert_eq!(got.meta.content_type.as_deref(), Some("application/zip"));

    let url = b
        .objects
        .presign_get(&bucket, "a/one.zip", Duration::from_secs(60))
        .await
        .expect("presign");
    assert!(url.contains(&bucket) && url.contains("one.zip"), "{url}");

    b.objects
        .put(
            &bucket,
            "a/one.zip",
            Bytes::from_static(b"bye"),
            PutOptions::default(),
        )
        .await
        .expect("overwrite");
    let got = b
        .objects
        .get(&bucket, "a/one.zip")
        .await
        .expect("get overwritten");
    assert_eq!(&got.body[..], b"bye");
    assert_ne!(got.meta.etag, put.etag);

    b.objects
        .delete(&bucket, "a/one.zip")
        .await
        .expect("delete");
    b.objects
        .delete(&bucket, "a/one.zip")
        .await
        .expect("delete twice is fine");
    assert_eq!(
        b.objects.head(&bucket, "a/one.zip").await.expect("head"),
        None
    );
    let e = b.objects.get(&bucket, "a/one.zip").await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    assert!(
        b.objects
            .head(&other, "kept/one.zip")
            .await
            .expect("head copy")
            .is_some(),
        "the copy stays"
    );
}

async fn records(b: &Backend, queue: &str, want: usize) -> Vec<S3Record> {
    let mut records = Vec::new();
    let start = Instant::now();
    while records.len() < want {
        assert!(
            start.elapsed() < PATIENCE,
            "only {records:?} on {queue} within {PATIENCE:?}"
        );
        for m in b
            .queues
            .receive(queue, 10, Duration::from_secs(1), Duration::from_secs(30))
            .await
            .expect("receive")
        {
            match parse_s3_notification(&m.body)
                .unwrap_or_else(|e| panic!("not an S3 event: {e}: {}", m.body))
            {
                // AWS (and moto) send one when a notification is configured.
                S3Notification::TestEvent => {}
                S3Notification::Records(r) => records.extend(r),
            }
            b.queues.delete(queue, &m.receipt).await.expect("delete");
        }
    }
    records
}

/// A put into a bucket with a notification configured puts an S3-format
/// `ObjectCreated:*` event on the queue, with the key decoded, the size
/// and the eTag of the put; a bucket without one sends nothing.
pub async fn notification_event_on_put(b: &Backend) {
    let bucket = unique("incoming");
    let quiet = unique("quiet");
    let queue = unique("incoming-queue");
    b.objects
        .create_bucket(&bucket)
        .await
        .expect("create bucket");
    b.objects
        .create_bucket(&quiet)
        .await
        .expect("create quiet bucket");
    b.queues
        .create_queue(&queue, 5)
        .await
        .expect("create queue");
    b.objects
        .set_notification(&bucket, &queue)
        .await
        .expect("set notification");
    b.objects
        .set_notification(&bucket, &queue)
        .await
        .expect("set notification again");
    b.objects
        .put(
            &quiet,
            "ignored.zip",
            Bytes::from_static(b"PK"),
            PutOptions::default(),
        )
        .await
        .expect("put quiet");
    let key = "in dir/elife-00353 (1)+v1.zip";
    let put = b
        .objects
        .put(
            &bucket,
            key,
            Bytes::from_static(b"PK\x03\x04zip"),
            PutOptions::default(),
        )
        .await
        .expect("put");
    let got = records(b, &queue, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let r = &got[0];
    assert_eq!(r.bucket, bucket);
    assert_eq!(r.key, key);
    assert_eq!(r.size, 7);
    assert!(
        r.event_name.starts_with("ObjectCreated:"),
        "{}",
        r.event_name
    );
    assert_eq!(r.etag.as_deref(), Some(put.etag.as_str()));
    assert!(!r.event_time.is_empty());
}

/// One `#[tokio::test]` per conformance function on the backend `$fixture`
/// (an `async fn() -> backends::Fixture`). Attributes before a name (e.g.
/// `#[ignore = "why"]`) go onto that test.
#[macro_export]
macro_rules! conformance_tests {
    ($fixture:path; $( $(#[$attr:meta])* $name:ident ),* $(,)?) => {
        $(
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fixture = $fixture().await;
                $crate::$name(&fixture.backend).await;
            }
        )*
    };
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

/// One receive hands out up to `max` messages, never one twice; every sent
/// message arrives.
pub async fn receive_batch(b: &Backend) {
    let queue = unique("batch");
    b.queues
        .create_queue(&queue, 5)
        .await
        .expect("create queue");
    let mut sent = Vec::new();
    for n in 0..5 {
        sent.push(
            b.queues
                .send(&queue, OutgoingMessage::new(format!("m{n}")))
                .await
                .expect("send"),
        );
    }
    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < sent.len() {
        assert!(start.elapsed() < PATIENCE, "only {got:?} of {sent:?}");
        let batch = b
            .queues
            .receive(&queue, 3, Duration::from_secs(1), Duration::from_secs(30))
            .await
            .expect("receive");
        assert!(batch.len() <= 3, "more than max: {batch:?}");
        got.extend(batch.into_iter().map(|m| m.id));
    }
    let mut unique_ids = got.clone();
    unique_ids.sort();
    unique_ids.dedup();
    assert_eq!(
        unique_ids.len(),
        got.len(),
        "a message handed out twice: {got:?}"
    );
    sent.sort();
    assert_eq!(unique_ids, sent);
}
