//! The publishing pipeline on the AWS backend, against moto (SWF, SQS, S3):
//! the four roles as separate OS processes configured through environment
//! variables, the package put with an ordinary S3 PutObject (moto sends S3's
//! own event notification to the incoming queue), the embedded CMS as the
//! CMS. Needs moto: `bash scripts/moto/ensure-moto.sh` (the test says so
//! and fails if it is missing; it is never skipped silently).

mod e2e_pipeline_cases;
mod support;

use pressbot_aws::testing::MotoServer;
use pressbot_conformance::backends::shared_moto;
use pressbot_core::backend::{Backend, CloseStatus, ExecutionFilter, ExecutionInfo, PutOptions};
use pressbot_core::history::EventKind;
use std::time::Duration;
use support::{repo_root, wait_for, Harness};
use tokio_util::sync::CancellationToken;

const SAMPLE: &str = "tests/fixtures/articles/elife-00353-vor-v1-20121213000000.zip";
const SAMPLE_NAME: &str = "elife-00353-vor-v1-20121213000000.zip";
const PREFIX: &str = "pbaws";

async fn list(backend: &Backend, open: bool) -> Vec<ExecutionInfo> {
    backend
        .workflows
        .list_executions(&ExecutionFilter {
            open,
            ..Default::default()
        })
        .await
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_backend_on_moto_publishes_a_package_put_with_put_object() {
    let moto = MotoServer::start();
    let cms_dir = tempfile::tempdir().expect("cms dir");
    let stop = CancellationToken::new();
    let cms = pressbot_cms::embedded::EmbeddedCms::serve(
        cms_dir.path(),
        "127.0.0.1:0".parse().unwrap(),
        stop.clone(),
    )
    .await
    .expect("embedded CMS");
    let cms_url = cms.base_url();
    tokio::spawn(async move {
        let _ = cms.join().await;
    });

    let mut h = Harness::new();
    for (k, v) in [
        ("PRESSBOT__BACKEND", "aws"),
        ("PRESSBOT__PREFIX", PREFIX),
        ("PRESSBOT__AWS__ENDPOINT_URL", moto.endpoint().as_str()),
        ("PRESSBOT__AWS__REGION", "us-east-1"),
        ("PRESSBOT__AWS__FORCE_PATH_STYLE", "true"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("PRESSBOT__CMS__BASE_URL", cms_url.as_str()),
        ("PRESSBOT__CMS__EMBEDDED", "false"),
        ("PRESSBOT__CMS__REQUEST_TIMEOUT", "5s"),
    ] {
        h.set(k, v);
    }
    // Short retry waits, in case moto answers a call with an error.
    let text = std::fs::read_to_string(repo_root().join("workflows/IngestArticleZip.toml"))
        .expect("workflow");
    let fast = regex::Regex::new(r#"initial = "[0-9]+s""#)
        .unwrap()
        .replace_all(&text, r#"initial = "1s""#);
    h.add_workflow("IngestArticleZip.toml", &fast);

    h.pressbot_ok(&["create-resources"]);
    h.spawn_all();

    let mut settings = moto.settings(PREFIX);
    settings.swf.domain = "publishing".into();
    let aws = moto.connect(&settings).await;
    let backend = aws.backend();
    let body = std::fs::read(repo_root().join(SAMPLE)).expect("sample");
    backend
        .objects
        .put(
            &format!("{PREFIX}-incoming"),
            SAMPLE_NAME,
            body.into(),
            PutOptions::default(),
        )
        .await
        .expect("S3 PutObject");

    let done = wait_for(
        &format!(
            "the workflow to close (logs in {})",
            h.path().join("logs").display()
        ),
        Duration::from_secs(150),
        || {
            let b = backend.clone();
            async move {
                let closed = list(&b, false).await;
                (!closed.is_empty() && list(&b, true).await.is_empty()).then_some(closed)
            }
        },
    )
    .await;
    assert_eq!(done.len(), 1, "{done:?}");
    let events = backend
        .workflows
        .history(&done[0].execution)
        .await
        .expect("history");
    let failure = events.iter().find_map(|e| match &e.kind {
        EventKind::WorkflowExecutionFailed { reason, details } => {
            Some(format!("{reason:?} {details:?}"))
        }
        _ => None,
    });
    assert_eq!(
        done[0].close_status,
        Some(CloseStatus::Completed),
        "{failure:?}\n{}",
        h.logs()
    );
    assert_eq!(done[0].workflow_type.name, "IngestArticleZip");

    let index = pressbot_cms::embedded::load_index(cms_dir.path()).expect("cms index");
    let v1 = index.version("00353", 1).expect("00353 v1 in the CMS");
    assert_eq!(
        (v1.status.as_str(), v1.ingests, v1.publishes),
        ("published", 1, 1)
    );
    assert_eq!(v1.doi.as_deref(), Some("10.7554/eLife.00353"));
    let cdn = backend
        .objects
        .list(&format!("{PREFIX}-cdn"), "articles/00353/")
        .await
        .expect("list cdn");
    let keys: Vec<&str> = cdn.iter().map(|o| o.key.as_str()).collect();
    assert!(keys.iter().any(|k| k.ends_with("-v1.pdf")), "{keys:?}");
    assert!(keys.iter().any(|k| k.ends_with(".jpg")), "{keys:?}");
    let archived = backend
        .objects
        .list(&format!("{PREFIX}-archive"), "00353/")
        .await
        .expect("list archive");
    assert!(
        archived.iter().any(|o| o.key.ends_with(SAMPLE_NAME)),
        "{archived:?}"
    );

    // A silent correction, put into the silent-corrections bucket: S3's
    // notification of that bucket starts SilentCorrectionsIngest, which
    // replaces v1's content without a new version or a publication.
    let body = std::fs::read(repo_root().join(SAMPLE)).expect("sample");
    backend
        .objects
        .put(
            &format!("{PREFIX}-silent-corrections"),
            SAMPLE_NAME,
            body.into(),
            PutOptions::default(),
        )
        .await
        .expect("S3 PutObject");
    let done = wait_for(
        "the silent correction to close",
        Duration::from_secs(150),
        || {
            let b = backend.clone();
            async move {
                let closed = list(&b, false).await;
                (closed.len() >= 2 && list(&b, true).await.is_empty()).then_some(closed)
            }
        },
    )
    .await;
    let silent = done
        .iter()
        .find(|i| i.workflow_type.name == "SilentCorrectionsIngest")
        .unwrap_or_else(|| panic!("no SilentCorrectionsIngest: {done:?}"));
    assert_eq!(
        silent.close_status,
        Some(CloseStatus::Completed),
        "{}",
        h.logs()
    );
    let index = pressbot_cms::embedded::load_index(cms_dir.path()).expect("cms index");
    let v1 = index.version("00353", 1).expect("00353 v1 in the CMS");
    assert_eq!(
        (
            v1.status.as_str(),
            v1.ingests,
            v1.publishes,
            v1.silent_corrections
        ),
        ("published", 1, 1, 1)
    );
    assert_eq!(index.articles["00353"].len(), 1, "no new version");
    stop.cancel();
}

/// The fixture-package case of `e2e_pipeline.rs`, unchanged, on the AWS
/// backend: its own prefix (domain, buckets, queues) on the moto_server
/// shared by this test binary.
#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_package_reaches_the_cms_on_aws() {
    e2e_pipeline_cases::every_fixture_package_reaches_the_cms(Harness::aws(
        &shared_moto().endpoint(),
    ))
    .await;
}

/// The real-world packages case of `e2e_pipeline.rs` (500 files, Mac
/// folders and junk, a revision name) on the AWS backend against moto.
#[tokio::test(flavor = "multi_thread")]
async fn real_world_packages_complete_on_aws() {
    e2e_pipeline_cases::real_world_packages_reach_the_cms(Harness::aws(&shared_moto().endpoint()))
        .await;
}
