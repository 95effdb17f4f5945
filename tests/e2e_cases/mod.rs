//! The end-to-end cases, written once and run on both backends: by
//! `e2e_local.rs` on the embedded backend and by `e2e_aws.rs` on the AWS
//! backend against moto_server. Each takes a ready [`Harness`] and reaches
//! buckets, queues and the domain only through it, so names follow the
//! harness's prefix.

use crate::support::{closed, open, repo_root, wait_for, Harness};
use pressbot_core::backend::{CloseStatus, OutgoingMessage};
use pressbot_core::history::{ActivityTimeoutType, EventKind};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The activity worker delivers to a CMS over HTTP; only `pressbot up`
/// runs the embedded one itself, so a test with the roles as separate
/// processes serves it here (in-process, on a free port) and points the
/// daemons at it. Stops when the returned token is cancelled or dropped
/// with the test's runtime.
pub async fn serve_cms(h: &mut Harness) -> CancellationToken {
    let stop = CancellationToken::new();
    let cms = pressbot_cms::embedded::EmbeddedCms::serve(
        h.path().join("cms"),
        "127.0.0.1:0".parse().expect("address"),
        stop.clone(),
    )
    .await
    .expect("embedded CMS");
    h.set("PRESSBOT__CMS__BASE_URL", &cms.base_url());
    h.set("PRESSBOT__CMS__EMBEDDED", "false");
    tokio::spawn(async move {
        let _ = cms.join().await;
    });
    stop
}

pub const SAMPLE: &str = "tests/fixtures/articles/elife-00353-vor-v1-20121213000000.zip";

/// `pressbot create-resources`, the four daemons as separate processes, a
/// package put into the incoming bucket (`pressbot put`: an ordinary
/// PutObject, so on AWS the notification is S3's own) → IngestArticleZip
/// runs to completion and the expanded files are stored.
pub async fn four_processes_ingest_a_package(mut h: Harness) {
    let _cms = serve_cms(&mut h).await.drop_guard();
    h.pressbot_ok(&["create-resources"]);
    h.spawn_all();
    let sample = repo_root().join(SAMPLE);
    h.pressbot_ok(&["put", sample.to_str().expect("path")]);
    let backend = h.backend();
    let done = wait_for("the workflow to close", Duration::from_secs(90), || {
        let b = backend.clone();
        async move { closed(&b).await.into_iter().next() }
    })
    .await;
    assert_eq!(
        done.close_status,
        Some(CloseStatus::Completed),
        "{}",
        h.logs()
    );
    assert_eq!(done.workflow_type.name, "IngestArticleZip");
    let files = backend
        .objects
        .list(
            &h.bucket("expanded"),
            &format!("00353.1/{}/", done.execution.run_id),
        )
        .await
        .expect("list expanded");
    let keys: Vec<_> = files.iter().map(|f| f.key.as_str()).collect();
    assert!(
        keys.iter().any(|k| k.ends_with(".xml")),
        "expanded files: {keys:?}"
    );
    assert!(
        keys.iter().any(|k| k.ends_with(".pdf")),
        "expanded files: {keys:?}"
    );
}

/// A killed worker's activity times out (start-to-close, 4 s) and is retried.
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

/// The same on moto, which times activities out by heartbeat only (never by
/// start-to-close; see `pressbot_aws::testing`): the killed worker's
/// activity is found dead by a 6 s heartbeat timeout instead. A live worker
/// finishes the 2.5 s activity before it would even need to heartbeat (it
/// beats at 0.8 of the timeout, 4.8 s), so only the killed attempt times
/// out, as with start-to-close. (With 3 s, a loaded machine made moto time
/// out the live attempt too: moto seems to count from scheduling.)
const SLOW_PING_HEARTBEAT: &str = r#"
name = "SlowPing"
version = "1"
task_list = "default"
execution_start_to_close = "5m"

[[step]]
activity = "PingWorker"
start_to_close = "1m"
heartbeat = "6s"
retry = { max_attempts = 4, initial = "1s", backoff = 2.0, max = "5s", jitter = 0.0 }
params = { sleep_ms = 2500 }
"#;

/// Kill the activity worker while attempt 1 runs: the attempt times out,
/// the decider's retry timer fires, a new worker runs attempt 2 and the
/// workflow completes; `pressbot history` shows both attempts and the
/// timeout. Start-to-close on the embedded backend, heartbeat on moto.
pub async fn killed_worker_is_retried_after_timeout(mut h: Harness) {
    let (workflow, timeout) = if h.is_aws() {
        (SLOW_PING_HEARTBEAT, ActivityTimeoutType::Heartbeat)
    } else {
        (SLOW_PING, ActivityTimeoutType::StartToClose)
    };
    h.add_workflow("SlowPing.toml", workflow);
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
    assert_eq!(
        done.close_status,
        Some(CloseStatus::Completed),
        "{}",
        h.logs()
    );
    let events = backend
        .workflows
        .history(&done.execution)
        .await
        .expect("history");
    assert!(
        events.iter().any(|e| matches!(
            e.kind,
            EventKind::ActivityTaskTimedOut { timeout_type, .. } if timeout_type == timeout
        )),
        "no {timeout:?} timeout in {events:#?}"
    );
    assert!(events
        .iter()
        .any(|e| matches!(e.kind, EventKind::TimerFired { .. })));
    let history = h.pressbot_ok(&["history", "slow-1"]);
    assert!(history.contains(timeout.as_str()), "{history}");
    assert!(
        history
            .lines()
            .any(|l| l.starts_with("PingWorker") && l.contains(" 2 ")),
        "{history}"
    );
}

/// The same S3 event delivered twice more (S3 delivers at least once)
/// still starts one workflow for one object.
pub async fn duplicate_s3_event_starts_one_workflow(mut h: Harness) {
    let _cms = serve_cms(&mut h).await.drop_guard();
    h.pressbot_ok(&["create-resources"]);
    h.spawn_all();
    let sample = repo_root().join(SAMPLE);
    h.pressbot_ok(&["put", sample.to_str().expect("path")]);
    let backend = h.backend();
    let incoming = h.bucket("incoming");
    let queue = h.queue("incoming-queue");
    let key = "elife-00353-vor-v1-20121213000000.zip";
    let meta = backend
        .objects
        .head(&incoming, key)
        .await
        .expect("head")
        .expect("object exists");
    // The same event again, twice (S3 delivers at least once).
    let event = pressbot_core::messages::s3_event_json(
        &incoming,
        key,
        meta.size,
        &meta.etag,
        "0000000000000000AA",
        pressbot_core::time::Timestamp::now(),
    );
    for _ in 0..2 {
        backend
            .queues
            .send(&queue, OutgoingMessage::new(event.clone()))
            .await
            .expect("send duplicate");
    }
    let starter = h.queue("workflow-starter-queue");
    wait_for(
        "queues to drain and workflows to close",
        Duration::from_secs(90),
        || {
            let b = backend.clone();
            let queues = [queue.clone(), starter.clone()];
            async move {
                for q in &queues {
                    let d = b.queues.depth(q).await.ok()?;
                    if d.visible + d.in_flight + d.delayed > 0 {
                        return None;
                    }
                }
                (open(&b).await.is_empty() && !closed(&b).await.is_empty()).then_some(())
            }
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = closed(&backend).await;
    assert_eq!(
        all.len(),
        1,
        "one workflow for one object: {all:?}\n{}",
        h.logs()
    );
    assert!(open(&backend).await.is_empty());
}
