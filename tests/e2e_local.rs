//! End to end on the embedded backend: the four roles as separate OS
//! processes sharing one data dir, driven through the `pressbot` CLI.

mod support;

use pressbot_core::backend::{CloseStatus, OutgoingMessage};
use pressbot_core::history::EventKind;
use std::time::Duration;
use support::{closed, open, repo_root, wait_for, Harness};

const SAMPLE: &str = "tests/fixtures/articles/elife-00353-vor-v1-20121213000000.zip";

#[tokio::test(flavor = "multi_thread")]
async fn four_processes_ingest_a_package() {
    let mut h = Harness::new();
    h.pressbot_ok(&["create-resources"]);
    h.spawn_all();
    let sample = repo_root().join(SAMPLE);
    h.pressbot_ok(&["put", sample.to_str().expect("path")]);
    let backend = h.backend();
    let done = wait_for("the workflow to close", Duration::from_secs(60), || {
        let b = backend.clone();
        async move { closed(&b).await.into_iter().next() }
    })
    .await;
    assert_eq!(done.close_status, Some(CloseStatus::Completed), "{}", h.logs());
    assert_eq!(done.workflow_type.name, "IngestArticleZip");
    let files = backend
        .objects
        .list("pressbot-dev-expanded", &format!("00353.1/{}/", done.execution.run_id))
        .await
        .expect("list expanded");
    let keys: Vec<_> = files.iter().map(|f| f.key.as_str()).collect();
    assert!(keys.iter().any(|k| k.ends_with(".xml")), "expanded files: {keys:?}");
    assert!(keys.iter().any(|k| k.ends_with(".pdf")), "expanded files: {keys:?}");
}

const SLOW_PING: &str = r#"
name = "SlowPing"
version = "1"
task_list = "default"
execution_start_to_close = "5m"

[[step]]
activity = "PingWorker"
start_to_close = "4s"
heartbeat = "1m"
retry = { max_attempts = 3, initial = "1s", backoff = 2.0, max = "5s", jitter = 0.0 }
params = { sleep_ms = 2500 }
"#;

#[tokio::test(flavor = "multi_thread")]
async fn killed_worker_is_retried_after_start_to_close_timeout() {
    let mut h = Harness::new();
    h.add_workflow("SlowPing.toml", SLOW_PING);
    h.pressbot_ok(&["create-resources"]);
    h.spawn("decider");
    h.spawn("activity-worker");
    h.pressbot_ok(&["start", "SlowPing", "--id", "slow-1"]);
    let backend = h.backend();
    // Wait until the first attempt is running, then kill its worker.
    wait_for("attempt 1 to start", Duration::from_secs(30), || {
        let b = backend.clone();
        async move {
            let open = open(&b).await;
            let e = open.first()?;
            let events = b.workflows.history(&e.execution).await.ok()?;
            events
                .iter()
                .any(|e| matches!(e.kind, EventKind::ActivityTaskStarted { .. }))
                .then_some(())
        }
    })
    .await;
    h.kill("activity-worker");
    h.spawn("activity-worker");
    let done = wait_for("the workflow to close", Duration::from_secs(60), || {
        let b = backend.clone();
        async move { closed(&b).await.into_iter().next() }
    })
    .await;
    assert_eq!(done.close_status, Some(CloseStatus::Completed), "{}", h.logs());
    let events = backend.workflows.history(&done.execution).await.expect("history");
    assert!(events.iter().any(|e| matches!(
        e.kind,
        EventKind::ActivityTaskTimedOut { timeout_type: pressbot_core::history::ActivityTimeoutType::StartToClose, .. }
    )));
    assert!(events.iter().any(|e| matches!(e.kind, EventKind::TimerFired { .. })));
    let history = h.pressbot_ok(&["history", "slow-1"]);
    assert!(history.contains("START_TO_CLOSE"), "{history}");
    assert!(history.lines().any(|l| l.starts_with("PingWorker") && l.contains(" 2 ")), "{history}");
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_s3_event_starts_one_workflow() {
    let mut h = Harness::new();
    h.pressbot_ok(&["create-resources"]);
    h.spawn_all();
    let sample = repo_root().join(SAMPLE);
    h.pressbot_ok(&["put", sample.to_str().expect("path")]);
    let backend = h.backend();
    let key = "elife-00353-vor-v1-20121213000000.zip";
    let meta = backend
        .objects
        .head("pressbot-dev-incoming", key)
        .await
        .expect("head")
        .expect("object exists");
    // The same event again, twice (S3 delivers at least once).
    let event = pressbot_core::messages::s3_event_json(
        "pressbot-dev-incoming",
        key,
        meta.size,
        &meta.etag,
        "0000000000000000AA",
        pressbot_core::time::Timestamp::now(),
    );
    for _ in 0..2 {
        backend
            .queues
            .send("pressbot-dev-incoming-queue", OutgoingMessage::new(event.clone()))
            .await
            .expect("send duplicate");
    }
    wait_for("queues to drain and workflows to close", Duration::from_secs(60), || {
        let b = backend.clone();
        async move {
            for q in ["pressbot-dev-incoming-queue", "pressbot-dev-workflow-starter-queue"] {
                let d = b.queues.depth(q).await.ok()?;
                if d.visible + d.in_flight + d.delayed > 0 {
                    return None;
                }
            }
            (open(&b).await.is_empty() && !closed(&b).await.is_empty()).then_some(())
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = closed(&backend).await;
    assert_eq!(all.len(), 1, "one workflow for one object: {all:?}\n{}", h.logs());
    assert!(open(&backend).await.is_empty());
}
