//! Exactly once across runs and processes, on the embedded backend (the
//! retry case on moto too), with
//! the daemons as OS processes and a recording CMS (raw requests counted
//! per article version, so a duplicate cannot hide under the latest key):
//!
//! - `pressbot retry` after a successful ingest (PublishToCms failed
//!   permanently) ingests nothing again and publishes once;
//! - an unversioned package started again after it closed (a duplicate
//!   starter message while the closed listing lags, injected by the
//!   faults layer) gets the version it got the first time and the CMS
//!   sees nothing new;
//! - two activity-worker processes with several packages in flight: never
//!   two CMS ingests at once (the CMS lease), and waiting for the lease
//!   spends no retry attempt; on both backends.

mod e2e_pipeline_cases;
mod support;

use e2e_pipeline_cases::*;
use pressbot_cms::testing::{Behavior, MisbehavingCms};
use pressbot_conformance::backends::shared_moto;
use pressbot_core::backend::{CloseStatus, OutgoingMessage};
use pressbot_core::history::EventKind;
use serde_json::{json, Value};
use std::time::Duration;
use support::{repo_root, Harness};

const STARTER_QUEUE: &str = "pressbot-dev-workflow-starter-queue";

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_ingest_ingests_once_and_publishes_once() {
    retry_after_ingest_case(Harness::new()).await;
}

/// The same case on the AWS backend against moto (its own prefix on the
/// moto_server shared by this test binary): `pressbot retry` of a failed
/// SWF execution, the version status and the lease in S3.
#[tokio::test(flavor = "multi_thread")]
async fn retry_after_ingest_ingests_once_and_publishes_once_on_aws() {
    retry_after_ingest_case(Harness::aws(&shared_moto().endpoint())).await;
}

/// PostToCms succeeds, PublishToCms fails permanently, `pressbot retry`:
/// one ingest POST and one publish POST in all, for either backend.
async fn retry_after_ingest_case(mut h: Harness) {
    // GETs: PostToCms's status check (normal: 404), then PublishToCms's,
    // refused with a 400: a permanent failure after the ingest.
    let cms = MisbehavingCms::start(
        vec![],
        vec![
            Behavior::Normal,
            Behavior::answer(400, r#"{"error":"bad request"}"#),
        ],
    )
    .await
    .expect("CMS");
    configure(&mut h, &cms.base_url());
    h.pressbot_ok(&["create-resources"]);
    h.spawn_all();
    h.pressbot_ok(&["put", repo_root().join(SAMPLE).to_str().expect("path")]);
    let done = wait_closed(&h, 1, Duration::from_secs(90)).await;
    let backend = h.backend();
    assert_eq!(
        done[0].close_status,
        Some(CloseStatus::Failed),
        "{}",
        h.logs()
    );
    assert!(
        failure_of(&backend, &done[0])
            .await
            .contains("PublishToCms"),
        "{}",
        failure_of(&backend, &done[0]).await
    );
    assert_eq!(cms.ingest_posts("00353", 1), 1);
    assert_eq!(cms.publish_posts("00353", 1), 0);

    let id = done[0].execution.workflow_id.to_string();
    h.pressbot_ok(&["retry", &id]);
    let done = wait_closed(&h, 2, Duration::from_secs(90)).await;
    let completed: Vec<_> = done
        .iter()
        .filter(|i| i.close_status == Some(CloseStatus::Completed))
        .collect();
    assert_eq!(completed.len(), 1, "the retry completes: {}", h.logs());
    let requests = cms.requests();
    assert_eq!(
        cms.ingest_posts("00353", 1),
        1,
        "one ingest POST in all: {requests:#?}"
    );
    assert_eq!(
        cms.publish_posts("00353", 1),
        1,
        "one publish POST in all: {requests:#?}"
    );
    assert_eq!((cms.ingests("00353", 1), cms.publishes("00353", 1)), (1, 1));
    assert_eq!(
        (
            cms.duplicate_ingest_posts("00353", 1),
            cms.conflicting_publish_posts("00353", 1)
        ),
        (0, 0),
        "nothing posted twice: {requests:#?}"
    );
}

/// The input the first execution was started with.
async fn start_input(h: &support::Harness, info: &pressbot_core::backend::ExecutionInfo) -> Value {
    let events = h
        .backend()
        .workflows
        .history(&info.execution)
        .await
        .expect("history");
    events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::WorkflowExecutionStarted { input, .. } => {
                input.as_deref().and_then(|i| serde_json::from_str(i).ok())
            }
            _ => None,
        })
        .expect("a start input")
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_start_of_an_unversioned_package_after_close_adds_nothing() {
    let cms = MisbehavingCms::start(vec![], vec![]).await.expect("CMS");
    let mut h = harness(&cms.base_url());
    h.pressbot_ok(&["create-resources"]);
    // The starter's "already ran" check always misses: its closed
    // listing lags (the faults layer answers it empty).
    h.set("PRESSBOT_FAULTS", "seed=1,stale_closed=1.0");
    h.spawn("workflow-starter");
    h.env.retain(|(k, _)| k != "PRESSBOT_FAULTS");
    for role in ["decider", "activity-worker", "queue-worker"] {
        h.spawn(role);
    }
    // No -vN in the name: the version comes from what is published.
    let dir = tempfile::tempdir().expect("tempdir");
    let bytes = std::fs::read(repo_root().join(SAMPLE)).expect("sample");
    put(&h, dir.path(), "elife-00353.zip", &bytes, "incoming");
    let done = wait_closed(&h, 1, Duration::from_secs(90)).await;
    assert_eq!(
        done[0].close_status,
        Some(CloseStatus::Completed),
        "{}",
        h.logs()
    );
    let first = result_of(&h.backend(), &done[0]).await;
    assert_eq!(first["version"], 1, "{first}");

    // The same starter message again, after the close.
    let input = start_input(&h, &done[0]).await;
    let message = json!({"workflow_name": "IngestArticleZip", "workflow_data": input});
    h.backend()
        .queues
        .send(STARTER_QUEUE, OutgoingMessage::new(message.to_string()))
        .await
        .expect("send");
    let done = wait_closed(&h, 2, Duration::from_secs(90)).await;
    assert!(
        done.iter()
            .all(|i| i.close_status == Some(CloseStatus::Completed)),
        "{}",
        h.logs()
    );
    let results = [
        result_of(&h.backend(), &done[0]).await,
        result_of(&h.backend(), &done[1]).await,
    ];
    for r in &results {
        assert_eq!(r["version"], 1, "the same package keeps its version: {r}");
    }
    assert!(
        results.iter().any(|r| r["version_source"] == "recorded"),
        "the second run read the recorded version: {results:?}"
    );
    let requests = cms.requests();
    assert_eq!(cms.ingest_posts("00353", 1), 1, "{requests:#?}");
    assert_eq!(cms.publish_posts("00353", 1), 1, "{requests:#?}");
    assert_eq!(
        cms.ingest_posts("00353", 2),
        0,
        "no second version: {requests:#?}"
    );
}

/// Two workers, four packages, a CMS that takes 1.5 s per ingest, and CMS
/// steps allowed only 2 attempts (1-2 s apart): every package must wait
/// for the lease behind the others, and that wait must not spend its
/// attempts (it waits inside the attempt, heartbeating), or some would
/// close FAILED as in the long chaos run of 2026-12-06.
#[tokio::test(flavor = "multi_thread")]
async fn two_worker_processes_never_ingest_at_once() {
    two_workers_case(Harness::new()).await;
}

/// The same on the AWS backend against moto: the lease is an S3 object
/// written with conditional puts.
#[tokio::test(flavor = "multi_thread")]
async fn two_worker_processes_never_ingest_at_once_on_aws() {
    two_workers_case(Harness::aws(&shared_moto().endpoint())).await;
}

async fn two_workers_case(mut h: Harness) {
    let cms = MisbehavingCms::start(vec![], vec![]).await.expect("CMS");
    cms.set_ingest_delay(Duration::from_millis(1500));
    configure(&mut h, &cms.base_url());
    h.set("PRESSBOT__CMS__LEASE_TTL", "3s");
    let workflow = std::fs::read_to_string(h.path().join("workflows/IngestArticleZip.toml"))
        .expect("workflow");
    let few = workflow.replace("max_attempts = 10,", "max_attempts = 2,");
    assert_eq!(
        few.matches("max_attempts = 2,").count(),
        2,
        "PostToCms and PublishToCms get 2 attempts: {few}"
    );
    h.add_workflow("IngestArticleZip.toml", &few);
    h.pressbot_ok(&["create-resources"]);
    h.spawn_all();
    h.spawn("activity-worker");
    let dir = tempfile::tempdir().expect("tempdir");
    for (file, id, version) in JATS {
        let (name, bytes) = package_from_jats(file, id, *version, false);
        put(&h, dir.path(), &name, &bytes, "incoming");
    }
    let done = wait_closed(&h, JATS.len(), Duration::from_secs(180)).await;
    let backend = h.backend();
    for d in &done {
        assert_eq!(
            d.close_status,
            Some(CloseStatus::Completed),
            "{}",
            failure_of(&backend, d).await
        );
    }
    for (_, id, version) in JATS {
        assert_eq!(cms.ingests(id, *version), 1, "{id}");
        assert_eq!(cms.publishes(id, *version), 1, "{id}");
    }
    assert_eq!(cms.max_concurrent_ingests(), 1, "{:#?}", cms.requests());
    let logs = h.logs();
    assert!(
        logs.contains("waiting for the CMS lease") && logs.contains("CMS busy: lease held by"),
        "a worker met the lease held and waited for it at least once"
    );
}
