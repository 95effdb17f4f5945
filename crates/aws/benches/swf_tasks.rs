//! pressbot's own cost of one SWF decision task and one activity task on the
//! AWS backend, with HTTP connections kept alive as they are on AWS.
//!
//! The whole-process bench (`pressbot-bench`, scenario `aws`) runs against
//! moto, whose server (werkzeug) closes the connection after every response,
//! so every SWF request there also pays a TCP connect and a new hyper
//! connection. This bench puts a small SWF stand-in (axum, keep-alive) in the
//! same single-threaded runtime and measures, per iteration:
//!
//! - `decision_task`: PollForDecisionTask (a Ping workflow's second decision
//!   task, 9 events) → `decide` → RespondDecisionTaskCompleted;
//! - `activity_task`: PollForActivityTask → RespondActivityTaskCompleted.
//!
//! Both the client and the stand-in run on the one thread, so the time per
//! iteration is an upper bound of the client's CPU per task (it includes the
//! stand-in's few µs of canned answers).
//!
//! `cargo bench -p pressbot-aws --bench swf_tasks`

use axum::http::HeaderMap;
use axum::routing::post;
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use pressbot_aws::testing::{test_credentials, test_settings};
use pressbot_aws::AwsBackend;
use pressbot_core::backend::Backend;
use pressbot_core::decider::decide;
use pressbot_core::definition::WorkflowDefinition;
use pressbot_core::ids::WorkflowId;
use serde_json::json;
use std::path::Path;

const PING: &str = r#"
name = "Ping"
version = "1"
task_list = "default"
execution_start_to_close = "5m"
[defaults]
start_to_close = "1m"
schedule_to_start = "5m"
heartbeat = "1m"
retry = { max_attempts = 3, initial = "1s", backoff = 2.0, max = "10s" }
[[step]]
activity = "PingWorker"
"#;

/// The second decision task of a Ping workflow, as SWF sends it.
fn decision_task() -> String {
    let ts = 1_700_000_000.0;
    let control = r#"{"step":"PingWorker","attempt":1}"#;
    let input = json!({"workflow_id": "ping-1", "step": "PingWorker", "attempt": 1, "context": {}})
        .to_string();
    json!({
        "taskToken": "AAAA-decision-token-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "startedEventId": 9,
        "previousStartedEventId": 3,
        "workflowExecution": {"workflowId": "ping-1", "runId": "22fYbZ2rQ5S1yKXJ9y8Cw2Yb0KUnbQ2Sxu0bBDDBpIfU8="},
        "workflowType": {"name": "Ping", "version": "1"},
        "events": [
            {"eventId": 1, "eventType": "WorkflowExecutionStarted", "eventTimestamp": ts,
             "workflowExecutionStartedEventAttributes": {"childPolicy": "TERMINATE",
                "taskList": {"name": "decisions"}, "workflowType": {"name": "Ping", "version": "1"},
                "executionStartToCloseTimeout": "300", "taskStartToCloseTimeout": "60", "input": "{}"}},
            {"eventId": 2, "eventType": "DecisionTaskScheduled", "eventTimestamp": ts,
             "decisionTaskScheduledEventAttributes": {"taskList": {"name": "decisions"}, "startToCloseTimeout": "60"}},
            {"eventId": 3, "eventType": "DecisionTaskStarted", "eventTimestamp": ts,
             "decisionTaskStartedEventAttributes": {"scheduledEventId": 2, "identity": "decider"}},
            {"eventId": 4, "eventType": "DecisionTaskCompleted", "eventTimestamp": ts,
             "decisionTaskCompletedEventAttributes": {"scheduledEventId": 2, "startedEventId": 3}},
            {"eventId": 5, "eventType": "ActivityTaskScheduled", "eventTimestamp": ts,
             "activityTaskScheduledEventAttributes": {"activityType": {"name": "PingWorker", "version": "1"},
                "activityId": "PingWorker#1", "control": control, "input": input,
                "taskList": {"name": "default"}, "decisionTaskCompletedEventId": 4,
                "scheduleToStartTimeout": "300", "scheduleToCloseTimeout": "360",
                "startToCloseTimeout": "60", "heartbeatTimeout": "60"}},
            {"eventId": 6, "eventType": "ActivityTaskStarted", "eventTimestamp": ts,
             "activityTaskStartedEventAttributes": {"scheduledEventId": 5, "identity": "worker"}},
            {"eventId": 7, "eventType": "ActivityTaskCompleted", "eventTimestamp": ts,
             "activityTaskCompletedEventAttributes": {"scheduledEventId": 5, "startedEventId": 6, "result": "{\"ping\":\"pong\"}"}},
            {"eventId": 8, "eventType": "DecisionTaskScheduled", "eventTimestamp": ts,
             "decisionTaskScheduledEventAttributes": {"taskList": {"name": "decisions"}, "startToCloseTimeout": "60"}},
            {"eventId": 9, "eventType": "DecisionTaskStarted", "eventTimestamp": ts,
             "decisionTaskStartedEventAttributes": {"scheduledEventId": 8, "identity": "decider"}},
        ],
    })
    .to_string()
}

fn activity_task() -> String {
    json!({
        "taskToken": "AAAA-activity-token-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "activityId": "PingWorker#1",
        "startedEventId": 6,
        "workflowExecution": {"workflowId": "ping-1", "runId": "22fYbZ2rQ5S1yKXJ9y8Cw2Yb0KUnbQ2Sxu0bBDDBpIfU8="},
        "activityType": {"name": "PingWorker", "version": "1"},
        "input": json!({"workflow_id": "ping-1", "step": "PingWorker", "attempt": 1, "context": {}}).to_string(),
    })
    .to_string()
}

/// Canned SWF answers by `X-Amz-Target`; the connection stays open.
async fn stand_in() -> String {
    let decision = decision_task();
    let activity = activity_task();
    let app = Router::new().route(
        "/",
        post(move |headers: HeaderMap| {
            let target = headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .rsplit('.')
                .next()
                .unwrap_or("")
                .to_owned();
            let body = match target.as_str() {
                "PollForDecisionTask" => decision.clone(),
                "PollForActivityTask" => activity.clone(),
                _ => "{}".to_owned(),
            };
            async move { ([("content-type", "application/x-amz-json-1.0")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let backend: Backend = rt.block_on(async {
        let endpoint = stand_in().await;
        AwsBackend::connect_with_credentials(&test_settings(&endpoint, "bench"), test_credentials())
            .await
            .expect("backend")
            .backend()
    });
    let def = WorkflowDefinition::from_toml_str(PING, Path::new("Ping.toml"), &|_| true)
        .expect("definition");
    let wf = backend.workflows.clone();
    let mut g = c.benchmark_group("swf_tasks");
    g.bench_function("decision_task", |b| {
        b.to_async(&rt).iter(|| async {
            let task = wf
                .poll_decision_task("decisions", "decider")
                .await
                .expect("poll")
                .expect("a task");
            let d = decide(&def, &WorkflowId::from("ping-1".to_owned()), &task.events);
            assert!(!d.decisions.is_empty());
            wf.complete_decision_task(&task.token, d.decisions, None)
                .await
                .expect("respond");
        })
    });
    g.bench_function("activity_task", |b| {
        b.to_async(&rt).iter(|| async {
            let task = wf
                .poll_activity_task("default", "worker")
                .await
                .expect("poll")
                .expect("a task");
            wf.complete_activity_task(&task.token, Some("{\"ping\":\"pong\"}".into()))
                .await
                .expect("respond");
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
