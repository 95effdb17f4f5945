//! What moto cannot show: SWF history paging (moto ignores
//! `maximumPageSize` and never returns a `nextPageToken`) and retries of
//! throttled or 5xx answers. A small SWF stand-in speaks SWF's JSON
//! protocol over real HTTP, so the SDK, the backend's page loop and its
//! backoff all run for real.

use pressbot_aws::testing::{test_credentials, test_settings};
use pressbot_aws::{AwsBackend, RetrySettings};
use pressbot_core::history::EventKind;
use pressbot_core::ids::{RunId, WorkflowExecution, WorkflowId};
use serde_json::{json, Value};
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
