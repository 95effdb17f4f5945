//! What moto cannot show: SWF history paging (moto ignores
//! `maximumPageSize` and never returns a `nextPageToken`) and retries of
//! throttled or 5xx answers. A small SWF stand-in speaks SWF's JSON
//! protocol over real HTTP, so the SDK, the backend's page loop and its
//! backoff all run for real.

use pressbot_aws::testing::{test_credentials, test_settings};
use pressbot_aws::{AwsBackend, RetrySettings};
use pressbot_core::activity::ActivityFailure;
use pressbot_core::decider::decide;
use pressbot_core::definition::WorkflowDefinition;
use pressbot_core::history::{Decision, EventKind, HistoryEvent};
use pressbot_core::ids::{RunId, WorkflowExecution, WorkflowId};
use pressbot_core::testing::HistoryBuilder;
use serde_json::{json, Value};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as the stand-in saw it.
#[derive(Debug, Clone)]
struct Seen {
    target: String,
    body: Value,
}

type Handler = Arc<dyn Fn(&str, &Value, usize) -> (u16, Value) + Send + Sync>;

/// Serve SWF-style JSON answers from `handler(target, body, request_index)`.
async fn stand_in(handler: Handler) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let handler = handler.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let (head_end, length) = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..pos]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        break (pos + 4, length);
                    }
                };
                while buf.len() < head_end + length {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let target = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("x-amz-target")
                            .then(|| v.trim().to_owned())
                    })
                    .unwrap_or_default();
                let target = target.rsplit('.').next().unwrap_or("").to_owned();
                let body: Value = serde_json::from_slice(&buf[head_end..]).unwrap_or(Value::Null);
                let index = {
                    let mut log = log.lock().unwrap();
                    log.push(Seen {
                        target: target.clone(),
                        body: body.clone(),
                    });
                    log.len() - 1
                };
                let (status, answer) = handler(&target, &body, index);
                let answer = answer.to_string();
                let reason = if status == 200 { "OK" } else { "Error" };
                let response = format!(
                    "HTTP/1.1 {status} {reason}\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = sock.write_all(response.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

fn event(id: i64) -> Value {
    let ts = 1_700_000_000.0 + id as f64;
    match id {
        1 => json!({"eventId": 1, "eventType": "WorkflowExecutionStarted", "eventTimestamp": ts,
            "workflowExecutionStartedEventAttributes": {"childPolicy": "TERMINATE",
                "taskList": {"name": "decisions"}, "workflowType": {"name": "Ping", "version": "1"},
                "executionStartToCloseTimeout": "300", "input": "{}"}}),
        n if n % 3 == 2 => {
            json!({"eventId": n, "eventType": "DecisionTaskScheduled", "eventTimestamp": ts,
            "decisionTaskScheduledEventAttributes": {"taskList": {"name": "decisions"}, "startToCloseTimeout": "60"}})
        }
        n if n % 3 == 0 => {
            json!({"eventId": n, "eventType": "DecisionTaskStarted", "eventTimestamp": ts,
            "decisionTaskStartedEventAttributes": {"scheduledEventId": n - 1, "identity": "d"}})
        }
        n => json!({"eventId": n, "eventType": "DecisionTaskTimedOut", "eventTimestamp": ts,
            "decisionTaskTimedOutEventAttributes": {"scheduledEventId": n - 2, "startedEventId": n - 1, "timeoutType": "START_TO_CLOSE"}}),
    }
}

const TOTAL: i64 = 9;

/// Page `token` ("p<first id>") of a TOTAL-event history, `size` events a page.
fn page(body: &Value, size: i64) -> (Vec<Value>, Option<String>) {
    let first = body["nextPageToken"]
        .as_str()
        .map(|t| t.trim_start_matches('p').parse::<i64>().unwrap())
        .unwrap_or(1);
    let last = (first + size - 1).min(TOTAL);
    let events = (first..=last).map(event).collect();
    let next = (last < TOTAL).then(|| format!("p{}", last + 1));
    (events, next)
}

async fn backend(endpoint: &str, page_size: i32) -> AwsBackend {
    let mut settings = test_settings(endpoint, "stub");
    settings.aws.history_page_size = page_size;
    AwsBackend::connect_with_credentials(&settings, test_credentials())
        .await
        .unwrap()
        .with_retry(RetrySettings {
            max_retries: 4,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
        })
}

#[tokio::test]
async fn decision_task_history_pages_are_all_fetched() {
    let (endpoint, seen) = stand_in(Arc::new(|target, body, _| {
        assert_eq!(target, "PollForDecisionTask");
        let size = body["maximumPageSize"].as_i64().unwrap();
        let (events, next) = page(body, size);
        let mut answer = json!({
            "taskToken": "tok-1",
            "startedEventId": TOTAL,
            "previousStartedEventId": 6,
            "workflowExecution": {"workflowId": "wf", "runId": "run"},
            "workflowType": {"name": "Ping", "version": "1"},
            "events": events,
        });
        if let Some(next) = next {
            answer["nextPageToken"] = json!(next);
        }
        (200, answer)
    }))
    .await;
    let aws = backend(&endpoint, 2).await;
    let task = aws
        .backend()
        .workflows
        .poll_decision_task("decisions", "decider")
        .await
        .unwrap()
        .unwrap();
    let ids: Vec<i64> = task.events.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=TOTAL).collect::<Vec<_>>());
    assert_eq!(task.token.as_str(), "tok-1");
    assert_eq!(task.started_event_id, TOTAL);
    assert_eq!(task.previous_started_event_id, 6);
    assert!(matches!(
        task.events[3].kind,
        EventKind::DecisionTaskTimedOut {
            scheduled_event_id: 2,
            started_event_id: 3
        }
    ));
    let seen = seen.lock().unwrap().clone();
    // ceil(9 / 2) = 5 pages, each asked with the page size and the previous token.
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(aws.swf_call_count(), 5);
    assert!(seen.iter().all(|s| s.target == "PollForDecisionTask"
        && s.body["maximumPageSize"] == 2
        && s.body["domain"] == "stub-pressbot"));
    assert_eq!(seen[0].body.get("nextPageToken"), None);
    assert_eq!(seen[1].body["nextPageToken"], "p3");
    assert_eq!(seen[4].body["nextPageToken"], "p9");
}

#[tokio::test]
async fn execution_history_pages_are_all_fetched() {
    let (endpoint, seen) = stand_in(Arc::new(|target, body, _| {
        assert_eq!(target, "GetWorkflowExecutionHistory");
        let (events, next) = page(body, 3);
        let mut answer = json!({ "events": events });
        if let Some(next) = next {
            answer["nextPageToken"] = json!(next);
        }
        (200, answer)
    }))
    .await;
    let aws = backend(&endpoint, 3).await;
    let history = aws
        .backend()
        .workflows
        .history(&WorkflowExecution {
            workflow_id: WorkflowId("wf".into()),
            run_id: RunId("run".into()),
        })
        .await
        .unwrap();
    assert_eq!(history.len() as i64, TOTAL);
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn empty_poll_answer_is_none() {
    let (endpoint, _) = stand_in(Arc::new(|_, _, _| {
        (
            200,
            json!({"previousStartedEventId": 0, "startedEventId": 0}),
        )
    }))
    .await;
    let aws = backend(&endpoint, 100).await;
    let wf = aws.backend().workflows;
    assert!(wf
        .poll_decision_task("decisions", "d")
        .await
        .unwrap()
        .is_none());
    assert!(wf
        .poll_activity_task("default", "w")
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn throttling_and_5xx_are_retried_then_succeed() {
    let (endpoint, seen) = stand_in(Arc::new(|_, _, index| match index {
        0 => (400, json!({"__type": "com.amazon.coral.availability#ThrottlingException", "message": "Rate exceeded"})),
        1 => (503, json!({"__type": "ServiceUnavailable", "message": "try later"})),
        2 => (500, json!({"__type": "InternalFailure"})),
        _ => (200, json!({"domainInfo": {"name": "stub-pressbot", "status": "REGISTERED"},
                          "configuration": {"workflowExecutionRetentionPeriodInDays": "1"}})),
    }))
    .await;
    let aws = backend(&endpoint, 100).await;
    aws.backend().workflows.ping().await.unwrap();
    assert_eq!(seen.lock().unwrap().len(), 4);
    assert_eq!(aws.swf_call_count(), 4);
}

#[tokio::test]
async fn other_errors_surface_at_once_with_operation_and_resource() {
    let (endpoint, seen) = stand_in(Arc::new(|_, _, _| {
        (400, json!({"__type": "com.amazonaws.swf.base.model#OperationNotPermittedFault", "message": "not allowed"}))
    }))
    .await;
    let aws = backend(&endpoint, 100).await;
    let err = aws
        .backend()
        .workflows
        .poll_activity_task("cms", "w")
        .await
        .unwrap_err();
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(
        text.contains("PollForActivityTask")
            && text.contains("stub-pressbot/cms")
            && text.contains("not allowed"),
        "{text}"
    );
    assert_eq!(seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn retries_give_up_with_a_retryable_error() {
    let (endpoint, seen) = stand_in(Arc::new(|_, _, _| {
        (503, json!({"__type": "ServiceUnavailable"}))
    }))
    .await;
    let aws = backend(&endpoint, 100).await;
    let err = aws.backend().workflows.ping().await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert_eq!(seen.lock().unwrap().len(), 5, "1 attempt + 4 retries");
}

#[tokio::test]
async fn unknown_task_token_is_unknown_task() {
    let (endpoint, _) = stand_in(Arc::new(|_, _, _| {
        (400, json!({"__type": "com.amazonaws.swf.base.model#UnknownResourceFault", "message": "Unknown activity"}))
    }))
    .await;
    let aws = backend(&endpoint, 100).await;
    let err = aws
        .backend()
        .workflows
        .complete_activity_task(&"tok".into(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, pressbot_core::Error::UnknownTask { .. }),
        "{err:?}"
    );
}

// ------------------------------------------------ a paged history, decided

/// A 3-step workflow; retries wait 10 s, without jitter, so the decisions
/// are exact.
const THREE_STEPS: &str = r#"
name = "ThreeSteps"
version = "1"
execution_start_to_close = "30m"

[defaults]
start_to_close = "5m"
retry = { max_attempts = 3, initial = "10s", backoff = 2.0, max = "1m", jitter = 0.0 }

[[step]]
activity = "A"

[[step]]
activity = "B"

[[step]]
activity = "C"
"#;

/// An SWF timeout on the wire: whole seconds as a string, `"NONE"` for none.
fn wire_timeout(d: Option<Duration>) -> Value {
    json!(d.map_or("NONE".to_owned(), |d| d.as_secs().to_string()))
}

/// A core history event as SWF's JSON protocol carries it (the event types
/// the history below uses; any other is a bug in this test).
fn wire_event(e: &HistoryEvent) -> Value {
    let (event_type, attrs_key, attrs) = match &e.kind {
        EventKind::WorkflowExecutionStarted {
            workflow_type,
            input,
            task_list,
            execution_start_to_close,
        } => (
            "WorkflowExecutionStarted",
            "workflowExecutionStartedEventAttributes",
            json!({"workflowType": {"name": workflow_type.name, "version": workflow_type.version},
                "input": input, "taskList": {"name": task_list}, "childPolicy": "TERMINATE",
                "executionStartToCloseTimeout": wire_timeout(*execution_start_to_close),
                "taskStartToCloseTimeout": "60"}),
        ),
        EventKind::DecisionTaskScheduled { task_list } => (
            "DecisionTaskScheduled",
            "decisionTaskScheduledEventAttributes",
            json!({"taskList": {"name": task_list}, "startToCloseTimeout": "60"}),
        ),
        EventKind::DecisionTaskStarted {
            scheduled_event_id,
            identity,
        } => (
            "DecisionTaskStarted",
            "decisionTaskStartedEventAttributes",
            json!({"scheduledEventId": scheduled_event_id, "identity": identity}),
        ),
        EventKind::DecisionTaskCompleted {
            scheduled_event_id,
            started_event_id,
            execution_context,
        } => (
            "DecisionTaskCompleted",
            "decisionTaskCompletedEventAttributes",
            json!({"scheduledEventId": scheduled_event_id, "startedEventId": started_event_id,
                "executionContext": execution_context}),
        ),
        EventKind::ActivityTaskScheduled {
            activity_id,
            activity_type,
            input,
            control,
            task_list,
            timeouts,
            decision_task_completed_event_id,
        } => (
            "ActivityTaskScheduled",
            "activityTaskScheduledEventAttributes",
            json!({"activityId": activity_id,
                "activityType": {"name": activity_type.name, "version": activity_type.version},
                "input": input, "control": control, "taskList": {"name": task_list},
                "scheduleToStartTimeout": wire_timeout(timeouts.schedule_to_start),
                "startToCloseTimeout": wire_timeout(timeouts.start_to_close),
                "scheduleToCloseTimeout": wire_timeout(timeouts.schedule_to_close),
                "heartbeatTimeout": wire_timeout(timeouts.heartbeat),
                "decisionTaskCompletedEventId": decision_task_completed_event_id}),
        ),
        EventKind::ActivityTaskStarted {
            scheduled_event_id,
            identity,
        } => (
            "ActivityTaskStarted",
            "activityTaskStartedEventAttributes",
            json!({"scheduledEventId": scheduled_event_id, "identity": identity}),
        ),
        EventKind::ActivityTaskCompleted {
            scheduled_event_id,
            started_event_id,
            result,
        } => (
            "ActivityTaskCompleted",
            "activityTaskCompletedEventAttributes",
            json!({"scheduledEventId": scheduled_event_id, "startedEventId": started_event_id,
                "result": result}),
        ),
        EventKind::ActivityTaskFailed {
            scheduled_event_id,
            started_event_id,
            reason,
            details,
        } => (
            "ActivityTaskFailed",
            "activityTaskFailedEventAttributes",
            json!({"scheduledEventId": scheduled_event_id, "startedEventId": started_event_id,
                "reason": reason, "details": details}),
        ),
        EventKind::TimerStarted {
            timer_id,
            control,
            start_to_fire,
        } => (
            "TimerStarted",
            "timerStartedEventAttributes",
            json!({"timerId": timer_id, "control": control,
                "startToFireTimeout": start_to_fire.as_secs().to_string(),
                "decisionTaskCompletedEventId": 0}),
        ),
        EventKind::TimerFired {
            timer_id,
            started_event_id,
        } => (
            "TimerFired",
            "timerFiredEventAttributes",
            json!({"timerId": timer_id, "startedEventId": started_event_id}),
        ),
        other => panic!("wire_event: {} is not used by this test", other.name()),
    };
    // Absent, not null: SWF leaves out the optional fields it has no value for.
    let attrs: serde_json::Map<String, Value> = attrs
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    json!({
        "eventId": e.id,
        "eventType": event_type,
        "eventTimestamp": e.timestamp.0 as f64 / 1000.0,
        attrs_key: attrs,
    })
}

/// A history longer than one page is decided as if it had come in one:
/// A completed, B failed once and completed after its retry timer fired,
/// served in pages of 2-3 events; the decider must schedule C, exactly as
/// it does for the same history unpaged.
#[tokio::test]
async fn a_history_longer_than_one_page_is_decided_correctly() {
    let def = WorkflowDefinition::from_toml_str(THREE_STEPS, Path::new("t.toml"), &|_| true)
        .expect("valid definition");
    let wf = WorkflowId::from("ThreeSteps-paged");
    let mut h = HistoryBuilder::start(json!({"article_id": "00666", "version": 1}));
    h.decision_task()
        .schedule("A", 1)
        .started("A", 1)
        .completed("A", 1, json!({"a": 1}))
        .decision_task()
        .schedule("B", 1)
        .started("B", 1)
        .failed("B", 1, ActivityFailure::retryable("S3 answered 503"))
        .decision_task()
        .timer_started("retry:B#2", Duration::from_secs(10))
        .timer_fired("retry:B#2")
        .decision_task()
        .schedule("B", 2)
        .started("B", 2)
        .completed("B", 2, json!({"b": 2}))
        .decision_scheduled()
        .decision_started();
    let history = h.build();
    let total = history.len();
    assert!(total > 20, "{total} events: several pages of 2-3");
    let wire: Vec<Value> = history.iter().map(wire_event).collect();
    let previous_started = history
        .iter()
        .rev()
        .filter(|e| matches!(e.kind, EventKind::DecisionTaskStarted { .. }))
        .nth(1)
        .map_or(0, |e| e.id);

    for size in [2usize, 3] {
        let wire = wire.clone();
        let (endpoint, seen) = stand_in(Arc::new(move |target, body, _| {
            assert_eq!(target, "PollForDecisionTask");
            let first: usize = body["nextPageToken"]
                .as_str()
                .map_or(0, |t| t.trim_start_matches('p').parse().unwrap());
            let last = (first + size).min(wire.len());
            let mut answer = json!({
                "taskToken": "tok-paged",
                "startedEventId": wire.len(),
                "previousStartedEventId": previous_started,
                "workflowExecution": {"workflowId": "ThreeSteps-paged", "runId": "run"},
                "workflowType": {"name": "TestWorkflow", "version": "1"},
                "events": wire[first..last],
            });
            if last < wire.len() {
                answer["nextPageToken"] = json!(format!("p{last}"));
            }
            (200, answer)
        }))
        .await;
        let aws = backend(&endpoint, size as i32).await;
        let task = aws
            .backend()
            .workflows
            .poll_decision_task("decisions", "decider")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            seen.lock().unwrap().len(),
            total.div_ceil(size),
            "pages of {size}"
        );
        assert_eq!(task.events, history, "pages of {size}: history as built");
        let paged = decide(&def, &wf, &task.events);
        let unpaged = decide(&def, &wf, &history);
        assert_eq!(paged, unpaged, "pages of {size}");
        let scheduled: Vec<&str> = paged
            .decisions
            .iter()
            .map(|d| match d {
                Decision::ScheduleActivityTask { activity_id, .. } => activity_id.as_str(),
                other => panic!("pages of {size}: unexpected {other:?}"),
            })
            .collect();
        assert_eq!(scheduled, ["C#1"], "pages of {size}: the next step");
    }
}

// Three AWS answers moto never gives (see `pressbot_aws::testing`), so the
// conformance cases that depend on them are `#[ignore]`d on moto
// (`crates/conformance/tests/aws.rs`). The stand-in gives the answers AWS
// documents, and the backend must read them as the embedded backend's
// conformance run does.

/// A spent token (its task timed out): AWS answers `UnknownResourceFault`
/// (moto: an HTML 500), which the backend reads as "task gone", not as a
/// retryable failure.
#[tokio::test]
async fn spent_activity_token_is_an_unknown_task() {
    let (endpoint, seen) = stand_in(Arc::new(|_, _, _| {
        (
            400,
            json!({"__type": "com.amazonaws.swf.base.model#UnknownResourceFault",
                "message": "Unknown activity task token"}),
        )
    }))
    .await;
    let aws = backend(&endpoint, 100).await;
    let wf = aws.backend().workflows;
    let token = pressbot_core::ids::TaskToken::from("spent");
    let err = wf
        .complete_activity_task(&token, Some("{}".into()))
        .await
        .expect_err("a spent token is refused");
    assert!(
        matches!(err, pressbot_core::Error::UnknownTask { .. }),
        "{err:?}"
    );
    assert_eq!(seen.lock().unwrap().len(), 1, "not retried");
}

/// A cancel request reaches the worker through its heartbeat answer
/// (moto always answers `cancelRequested: false`).
#[tokio::test]
async fn heartbeat_answer_carries_the_cancel_request() {
    let (endpoint, seen) = stand_in(Arc::new(|target, _, _| {
        assert_eq!(target, "RecordActivityTaskHeartbeat");
        (200, json!({"cancelRequested": true}))
    }))
    .await;
    let aws = backend(&endpoint, 100).await;
    let wf = aws.backend().workflows;
    let token = pressbot_core::ids::TaskToken::from("t");
    let outcome = wf
        .heartbeat(&token, Some("half way".into()))
        .await
        .expect("heartbeat");
    assert!(outcome.cancel_requested);
    assert_eq!(seen.lock().unwrap()[0].body["details"], "half way");
}

/// An activity's start-to-close timeout, as AWS writes it into the history
/// (moto times activities out by heartbeat only), reaches the decider as
/// `ActivityTaskTimedOut { StartToClose }` with its event ids.
#[tokio::test]
async fn start_to_close_timeout_event_is_read() {
    let (endpoint, _) = stand_in(Arc::new(|_, _, _| {
        let ts = 1_700_000_000.0;
        (
            200,
            json!({"taskToken": "d1", "startedEventId": 7, "previousStartedEventId": 3,
                "workflowExecution": {"workflowId": "w", "runId": "r"},
                "workflowType": {"name": "Ping", "version": "1"},
                "events": [
                    event(1), event(2), event(3),
                    {"eventId": 4, "eventType": "ActivityTaskScheduled", "eventTimestamp": ts,
                     "activityTaskScheduledEventAttributes": {"activityType": {"name": "PingWorker", "version": "1"},
                        "activityId": "PingWorker-1", "taskList": {"name": "default"},
                        "decisionTaskCompletedEventId": 3, "startToCloseTimeout": "4",
                        "scheduleToStartTimeout": "60", "scheduleToCloseTimeout": "120", "heartbeatTimeout": "60"}},
                    {"eventId": 5, "eventType": "ActivityTaskStarted", "eventTimestamp": ts,
                     "activityTaskStartedEventAttributes": {"scheduledEventId": 4, "identity": "w"}},
                    {"eventId": 6, "eventType": "ActivityTaskTimedOut", "eventTimestamp": ts,
                     "activityTaskTimedOutEventAttributes": {"scheduledEventId": 4, "startedEventId": 5,
                        "timeoutType": "START_TO_CLOSE"}},
                    {"eventId": 7, "eventType": "DecisionTaskScheduled", "eventTimestamp": ts,
                     "decisionTaskScheduledEventAttributes": {"taskList": {"name": "decisions"}, "startToCloseTimeout": "60"}},
                ]}),
        )
    }))
    .await;
    let aws = backend(&endpoint, 100).await;
    let task = aws
        .backend()
        .workflows
        .poll_decision_task("decisions", "d")
        .await
        .expect("poll")
        .expect("a task");
    assert!(
        task.events.iter().any(|e| matches!(
            e.kind,
            EventKind::ActivityTaskTimedOut {
                scheduled_event_id: 4,
                started_event_id: 5,
                timeout_type: pressbot_core::history::ActivityTimeoutType::StartToClose,
                ..
            }
        )),
        "{:?}",
        task.events
    );
}
