//! The SWF stand-in itself: its answers have SWF's wire shapes, and the
//! three conformance cases it exists for fail when it answers moto's way
//! (so their passing in `tests/aws.rs` says something about the stand-in).

use pressbot_aws::RetrySettings;
use pressbot_conformance::backends::{aws_on_swf_stand_in_with, Fixture};
use pressbot_conformance::swf_stand_in::{MotoQuirks, Options, SwfStandIn};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One raw HTTP/1.1 request to the stand-in: status, content type, body.
async fn post(endpoint: &str, target: &str, body: &Value) -> (u16, String, String) {
    let addr = endpoint.trim_start_matches("http://");
    let mut sock = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the stand-in");
    let body = body.to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nX-Amz-Target: {target}\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    sock.write_all(request.as_bytes()).await.expect("write");
    let mut answer = String::new();
    sock.read_to_string(&mut answer).await.expect("read");
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_owned())
        })
        .unwrap_or_default();
    (status, content_type, body.to_owned())
}

#[tokio::test]
async fn faults_have_swfs_json_shape() {
    let swf = SwfStandIn::start().await;
    let (status, content_type, body) = post(
        &swf.endpoint(),
        "SimpleWorkflowService.DescribeDomain",
        &json!({ "name": "nowhere" }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(content_type, "application/x-amz-json-1.0");
    let fault: Value = serde_json::from_str(&body).expect("a JSON fault");
    assert_eq!(
        fault["__type"],
        "com.amazonaws.swf.base.model#UnknownResourceFault"
    );
    assert_eq!(fault["message"], "Unknown domain: nowhere");

    let register = json!({ "name": "d", "workflowExecutionRetentionPeriodInDays": "1" });
    let target = "SimpleWorkflowService.RegisterDomain";
    let (status, _, body) = post(&swf.endpoint(), target, &register).await;
    assert_eq!((status, body.as_str()), (200, "{}"));
    let (status, _, body) = post(&swf.endpoint(), target, &register).await;
    assert_eq!(status, 400);
    let fault: Value = serde_json::from_str(&body).expect("a JSON fault");
    assert_eq!(
        fault["__type"],
        "com.amazonaws.swf.base.model#DomainAlreadyExistsFault"
    );

    // An empty poll is a task with an empty token, as SWF documents.
    let (status, _, body) = post(
        &swf.endpoint(),
        "SimpleWorkflowService.PollForActivityTask",
        &json!({ "domain": "d", "taskList": { "name": "idle" } }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let poll: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(poll["taskToken"], "");
}

#[tokio::test]
async fn other_services_are_refused() {
    let swf = SwfStandIn::start().await;
    let (status, _, body) = post(
        &swf.endpoint(),
        "AmazonSQS.SendMessage",
        &json!({ "QueueUrl": "x", "MessageBody": "y" }),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let fault: Value = serde_json::from_str(&body).expect("a JSON fault");
    assert_eq!(
        fault["__type"],
        "com.amazon.coral.service#UnknownOperationException"
    );
}

/// The stand-in with moto's answers where `quirks` say, and a short retry
/// policy (moto's HTML 500 is retried as any 5xx).
async fn moto_like(quirks: MotoQuirks) -> Fixture {
    aws_on_swf_stand_in_with(
        Options {
            moto_quirks: quirks,
            ..Options::default()
        },
        RetrySettings {
            max_retries: 1,
            min_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(20),
        },
    )
    .await
}

/// Run a conformance case and return its panic message; panics itself if
/// the case passed.
async fn failure<F, Fut>(fixture: Fixture, case: F) -> String
where
    F: FnOnce(pressbot_core::backend::Backend) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let run = tokio::spawn(case(fixture.backend.clone()));
    let err = run
        .await
        .expect_err("the case passed on moto's answers: it cannot tell them from SWF's");
    let payload = err.into_panic();
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spent_token_case_fails_on_motos_html_500() {
    let fixture = moto_like(MotoQuirks {
        unknown_token_as_html_500: true,
        ..MotoQuirks::default()
    })
    .await;
    let message = failure(fixture, |b| async move {
        pressbot_conformance::timed_out_activity_token_is_spent(&b).await
    })
    .await;
    assert!(
        message.contains("timed-out activity token"),
        "failed elsewhere: {message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_case_fails_when_heartbeats_never_cancel() {
    let fixture = moto_like(MotoQuirks {
        heartbeat_never_cancels: true,
        ..MotoQuirks::default()
    })
    .await;
    let message = failure(fixture, |b| async move {
        pressbot_conformance::cancel_request_reaches_heartbeat(&b).await
    })
    .await;
    assert!(
        message.contains("hb.cancel_requested"),
        "failed elsewhere: {message}"
    );
}

/// Waits out the suite's patience (30 s) for a timeout that never comes,
/// or meets the heartbeat timeout (30 s) instead of START_TO_CLOSE.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_to_close_case_fails_on_heartbeat_only_timeouts() {
    let fixture = moto_like(MotoQuirks {
        heartbeat_timeouts_only: true,
        ..MotoQuirks::default()
    })
    .await;
    let message = failure(fixture, |b| async move {
        pressbot_conformance::activity_start_to_close_timeout(&b).await
    })
    .await;
    assert!(
        message.contains("ActivityTaskTimedOut"),
        "failed elsewhere: {message}"
    );
}

/// A decision task over the wire, field by field as the SWF API reference
/// names them (the SDK would fill a misspelt member with its default, so
/// the conformance cases alone could miss one).
#[tokio::test]
async fn decision_task_has_swfs_field_names() {
    let swf = SwfStandIn::start().await;
    let call = |op: &'static str, body: Value| {
        let endpoint = swf.endpoint();
        async move {
            let (status, _, body) =
                post(&endpoint, &format!("SimpleWorkflowService.{op}"), &body).await;
            assert_eq!(status, 200, "{op}: {body}");
            serde_json::from_str::<Value>(&body).expect("JSON")
        }
    };
    call(
        "RegisterDomain",
        json!({ "name": "d", "workflowExecutionRetentionPeriodInDays": "1" }),
    )
    .await;
    call(
        "RegisterWorkflowType",
        json!({ "domain": "d", "name": "W", "version": "1",
                "defaultTaskList": { "name": "decide" },
                "defaultExecutionStartToCloseTimeout": "600",
                "defaultTaskStartToCloseTimeout": "30",
                "defaultChildPolicy": "TERMINATE" }),
    )
    .await;
    let started = call(
        "StartWorkflowExecution",
        json!({ "domain": "d", "workflowId": "w-1",
                "workflowType": { "name": "W", "version": "1" },
                "input": "in", "tagList": ["t"] }),
    )
    .await;
    let run_id = started["runId"].as_str().expect("runId").to_owned();
    let task = call(
        "PollForDecisionTask",
        json!({ "domain": "d", "taskList": { "name": "decide" }, "identity": "me" }),
    )
    .await;
    assert!(task["taskToken"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(task["startedEventId"], 3);
    assert_eq!(task["previousStartedEventId"], 0);
    assert_eq!(
        task["workflowExecution"],
        json!({ "workflowId": "w-1", "runId": run_id })
    );
    assert_eq!(task["workflowType"], json!({ "name": "W", "version": "1" }));
    let events = task["events"].as_array().expect("events");
    let types: Vec<&str> = events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        types,
        [
            "WorkflowExecutionStarted",
            "DecisionTaskScheduled",
            "DecisionTaskStarted"
        ]
    );
    assert!(events[0]["eventTimestamp"]
        .as_f64()
        .is_some_and(|t| t > 1.6e9));
    assert_eq!(
        events[0]["workflowExecutionStartedEventAttributes"],
        json!({
            "workflowType": { "name": "W", "version": "1" },
            "taskList": { "name": "decide" },
            "input": "in",
            "executionStartToCloseTimeout": "600",
            "taskStartToCloseTimeout": "30",
            "tagList": ["t"],
            "childPolicy": "TERMINATE",
            "parentInitiatedEventId": 0,
        })
    );
    assert_eq!(
        events[1]["decisionTaskScheduledEventAttributes"],
        json!({ "taskList": { "name": "decide" }, "startToCloseTimeout": "30" })
    );
    assert_eq!(
        events[2]["decisionTaskStartedEventAttributes"],
        json!({ "scheduledEventId": 2, "identity": "me" })
    );
}
