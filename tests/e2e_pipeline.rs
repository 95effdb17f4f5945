//! The publishing pipeline end to end on the embedded backend: the four
//! roles as separate OS processes, real article packages (the sample, and
//! packages built here from the JATS fixtures), and a CMS that is a real
//! HTTP server run by the test (the embedded CMS, or the scriptable
//! misbehaving one).
//!
//! What the CMS received is checked against the JATS source, parsed with
//! regular expressions, independently of ConvertJATS (in
//! `e2e_pipeline_cases/`, shared with `e2e_pipeline_aws.rs`).

mod e2e_pipeline_cases;
mod support;

use e2e_pipeline_cases::*;
use pressbot_cms::testing::{Behavior, MisbehavingCms};
use pressbot_core::backend::{Backend, CloseStatus, OutgoingMessage};
use regex::Regex;
use serde_json::{json, Value};
use std::time::Duration;
use support::{repo_root, Harness};

const STARTER_QUEUE: &str = "pressbot-dev-workflow-starter-queue";

/// Take every dashboard message off the event-monitor queue; return the
/// `publication-status` property values, in arrival order.
async fn publication_statuses(backend: &Backend) -> Vec<String> {
    let queue = "pressbot-dev-event-monitor-queue";
    let mut values = Vec::new();
    loop {
        let batch = backend
            .queues
            .receive(
                queue,
                10,
                Duration::from_millis(200),
                Duration::from_secs(30),
            )
            .await
            .expect("receive");
        if batch.is_empty() {
            return values;
        }
        for m in batch {
            let v: Value = serde_json::from_str(&m.body).expect("dashboard message is JSON");
            if v["message_type"] == "property" && v["name"] == "publication-status" {
                values.push(v["value"].as_str().unwrap_or_default().to_owned());
            }
            backend
                .queues
                .delete(queue, &m.receipt)
                .await
                .expect("delete");
        }
    }
}

// ------------------------------------------------------------ tests

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_package_reaches_the_cms_as_its_jats_says() {
    e2e_pipeline_cases::every_fixture_package_reaches_the_cms(Harness::new()).await;
}

/// A hostile or broken package, and what its failure reason must say.
struct Hostile {
    name: &'static str,
    bytes: Vec<u8>,
    reason: &'static str,
}

fn hostile_packages() -> Vec<Hostile> {
    let xml = std::fs::read_to_string(jats_path("elife-18753-v1.xml")).expect("xml");
    let fig = || {
        (
            "elife-18753-fig1-v1.tif".to_owned(),
            image_bytes(image::ImageFormat::Tiff, 1),
        )
    };
    let good_zip = |xml: &str| {
        zip_of(&[
            ("elife-18753-v1.xml".into(), xml.as_bytes().to_vec()),
            fig(),
        ])
    };
    let mut corrupt = good_zip(&xml);
    corrupt.truncate(corrupt.len() / 2);
    let slip = zip_of(&[
        ("elife-18753-v1.xml".into(), xml.as_bytes().to_vec()),
        ("../../evil.sh".into(), b"#!/bin/sh\n".to_vec()),
    ]);
    let absolute = zip_of(&[
        ("elife-18753-v1.xml".into(), xml.as_bytes().to_vec()),
        ("/etc/evil.conf".into(), b"x".to_vec()),
    ]);
    // 32 MB of zeros deflate to ~32 KB: a ratio far above the limit (200).
    let bomb = zip_of(&[
        ("elife-18753-v1.xml".into(), xml.as_bytes().to_vec()),
        ("elife-18753-supp1-v1.bin".into(), vec![0u8; 32 << 20]),
    ]);
    let no_xml = zip_of(&[fig(), ("elife-18753-v1.pdf".into(), tiny_pdf("no xml"))]);
    let malformed = good_zip(&xml.replacen("</article-meta>", "</article-mta>", 1));
    let no_doi = good_zip(
        &Regex::new(r#"<article-id pub-id-type="doi">[^<]*</article-id>"#)
            .unwrap()
            .replace_all(&xml, ""),
    );
    vec![
        Hostile {
            name: "elife-90001-vor-v1-20240101000000.zip",
            bytes: corrupt,
            reason: "corrupt zip",
        },
        Hostile {
            name: "elife-90002-vor-v1-20240101000000.zip",
            bytes: slip,
            reason: "path traversal",
        },
        Hostile {
            name: "elife-90003-vor-v1-20240101000000.zip",
            bytes: absolute,
            reason: "absolute path",
        },
        Hostile {
            name: "elife-90004-vor-v1-20240101000000.zip",
            bytes: bomb,
            reason: "compression ratio limit exceeded",
        },
        Hostile {
            name: "elife-90005-vor-v1-20240101000000.zip",
            bytes: no_xml,
            reason: "no JATS XML",
        },
        Hostile {
            name: "elife-90006-vor-v1-20240101000000.zip",
            bytes: malformed,
            reason: "malformed XML",
        },
        Hostile {
            name: "elife-90007-vor-v1-20240101000000.zip",
            bytes: no_doi,
            reason: "article-id[@pub-id-type=doi]",
        },
    ]
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_packages_fail_alone_and_a_good_one_is_published() {
    let cms_dir = tempfile::tempdir().expect("cms dir");
    let (url, stop) = start_embedded_cms(cms_dir.path()).await;
    let mut h = harness(&url);
    h.pressbot_ok(&["create-resources"]);
    h.spawn_all();
    let dir = tempfile::tempdir().expect("packages dir");
    let hostile = hostile_packages();
    for p in &hostile {
        put(&h, dir.path(), p.name, &p.bytes, "incoming");
    }
    h.pressbot_ok(&["put", repo_root().join(SAMPLE).to_str().expect("path")]);
    let done = wait_closed(&h, hostile.len() + 1, Duration::from_secs(90)).await;
    let backend = h.backend();
    for info in &done {
        let package = package_of(info);
        if package == SAMPLE_NAME {
            assert_eq!(
                info.close_status,
                Some(CloseStatus::Completed),
                "{}",
                failure_of(&backend, info).await
            );
            continue;
        }
        let p = hostile
            .iter()
            .find(|p| p.name == package)
            .unwrap_or_else(|| panic!("unexpected workflow {package}"));
        assert_eq!(
            info.close_status,
            Some(CloseStatus::Failed),
            "{package} should fail"
        );
        let why = failure_of(&backend, info).await;
        eprintln!("{package}: {why}");
        assert!(
            why.contains(p.reason),
            "{package}: reason should say {:?}: {why}",
            p.reason
        );
        assert!(
            why.contains("attempt 1 of") && why.contains("permanent"),
            "{package}: should fail at once, not by exhausting retries: {why}"
        );
        // The operator's view says the same.
        let history = h.pressbot_ok(&["history", info.execution.workflow_id.as_str()]);
        assert!(
            history.contains(p.reason),
            "{package}: `pressbot history` should show the reason:\n{history}"
        );
    }
    let index = pressbot_cms::embedded::load_index(cms_dir.path()).expect("cms index");
    assert_eq!(
        index.version("00353", 1).map(|r| r.status.as_str()),
        Some("published")
    );
    assert_eq!(
        index.articles.len(),
        1,
        "only the good package reached the CMS: {index:?}"
    );
    stop.cancel();
}

#[tokio::test(flavor = "multi_thread")]
async fn busy_deploying_and_cut_cms_ingests_and_publishes_exactly_once() {
    // The ingest POST: 429 with Retry-After, then 503 with Retry-After, then
    // the proxy cuts the request while the CMS goes on ingesting for 4 s
    // (the next attempts must ask, and wait, never re-post). The publish
    // POST: done, but answered only after the client's 2 s cut.
    let cut = Behavior::CutWhileIngesting {
        ingesting_for: Duration::from_secs(4),
    };
    let late = Behavior::SucceedThenHang(Duration::from_secs(4));
    let cms = MisbehavingCms::start(
        vec![
            Behavior::busy(1),
            Behavior::deploying(1),
            cut.clone(),
            late.clone(),
        ],
        vec![],
    )
    .await
    .expect("misbehaving CMS");
    let mut h = harness(&cms.base_url());
    h.pressbot_ok(&["create-resources"]);
    h.spawn_all();
    h.pressbot_ok(&["put", repo_root().join(SAMPLE).to_str().expect("path")]);
    let done = wait_closed(&h, 1, Duration::from_secs(90)).await;
    let backend = h.backend();
    let requests = cms.requests();
    assert_eq!(
        done[0].close_status,
        Some(CloseStatus::Completed),
        "{}\n{}",
        failure_of(&backend, &done[0]).await,
        h.logs()
    );
    assert_eq!(
        cms.ingests("00353", 1),
        1,
        "ingested exactly once: {requests:#?}"
    );
    assert_eq!(
        cms.publishes("00353", 1),
        1,
        "published exactly once: {requests:#?}"
    );
    let posts: Vec<(String, Behavior)> = requests
        .iter()
        .filter(|r| r.method == "POST")
        .map(|r| (r.path.clone(), r.behavior.clone()))
        .collect();
    let ingest_path = "/articles/00353/versions/1";
    assert_eq!(
        posts,
        vec![
            (ingest_path.to_owned(), Behavior::busy(1)),
            (ingest_path.to_owned(), Behavior::deploying(1)),
            (ingest_path.to_owned(), cut),
            (format!("{ingest_path}/publish"), late),
        ],
        "one ingest POST per answer, never a re-post after the cut, one publish POST"
    );
    for r in &requests {
        assert!(
            r.header("idempotency-key")
                .is_some_and(|k| k.starts_with("pressbot-00353-v1-")),
            "{r:?}"
        );
    }
    let ctx = result_of(&backend, &done[0]).await;
    assert_eq!(ctx["published"], json!(true), "{ctx}");
    // The cut ingest was waited for through the workflow's retry timers.
    let history = h.pressbot_ok(&["history", done[0].execution.workflow_id.as_str()]);
    assert!(
        history
            .lines()
            .any(|l| l.starts_with("PostToCms") && l.contains(" 2 ")),
        "{history}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn preview_then_approval_publishes_and_a_silent_correction_makes_no_new_version() {
    let cms_dir = tempfile::tempdir().expect("cms dir");
    let (url, stop) = start_embedded_cms(cms_dir.path()).await;
    let mut h = harness(&url);
    h.pressbot_ok(&["create-resources"]);
    h.spawn_all();
    let backend = h.backend();
    // Preview: the package sits in a bucket without a notification, and a
    // starter message asks for a preview ingest of it.
    let sample = std::fs::read(repo_root().join(SAMPLE)).expect("sample");
    let staging = "pressbot-dev-staging";
    let dir = tempfile::tempdir().expect("packages dir");
    backend
        .objects
        .create_bucket(staging)
        .await
        .expect("staging bucket");
    put(&h, dir.path(), SAMPLE_NAME, &sample, staging);
    let send = |body: Value| {
        let b = backend.clone();
        async move {
            b.queues
                .send(STARTER_QUEUE, OutgoingMessage::new(body.to_string()))
                .await
                .expect("send starter message");
        }
    };
    send(
        json!({"workflow_name": "IngestArticleZip", "workflow_data": {
        "bucket_name": staging, "file_name": SAMPLE_NAME, "mode": "preview"}}),
    )
    .await;
    let done = wait_closed(&h, 1, Duration::from_secs(60)).await;
    assert_eq!(
        done[0].close_status,
        Some(CloseStatus::Completed),
        "{}",
        failure_of(&backend, &done[0]).await
    );
    let ctx = result_of(&backend, &done[0]).await;
    assert_eq!(ctx["published"], json!(false), "{ctx}");
    assert_eq!(
        ctx["publication_status"],
        json!("ready to publish"),
        "{ctx}"
    );
    assert!(
        ctx.get("archive_key").is_none(),
        "a preview is not archived: {ctx}"
    );
    let index = pressbot_cms::embedded::load_index(cms_dir.path()).expect("index");
    let v1 = index.version("00353", 1).expect("v1 ingested");
    assert_eq!((v1.status.as_str(), v1.publishes), ("ingested", 0));
    assert_eq!(
        publication_statuses(&backend).await,
        vec!["ready to publish"],
        "the dashboard is told"
    );

    // Approval: publishes the previewed version.
    let run = ctx["run"].as_str().expect("run").to_owned();
    send(
        json!({"workflow_name": "ApproveArticlePublication", "workflow_data": {
        "article_id": "00353", "version": 1, "run": run}}),
    )
    .await;
    let done = wait_closed(&h, 2, Duration::from_secs(60)).await;
    let approve = done
        .iter()
        .find(|i| i.workflow_type.name == "ApproveArticlePublication")
        .expect("approval ran");
    assert_eq!(
        approve.close_status,
        Some(CloseStatus::Completed),
        "{}",
        failure_of(&backend, approve).await
    );
    let index = pressbot_cms::embedded::load_index(cms_dir.path()).expect("index");
    let v1 = index.version("00353", 1).expect("v1");
    assert_eq!(
        (v1.status.as_str(), v1.ingests, v1.publishes),
        ("published", 1, 1)
    );
    assert_eq!(publication_statuses(&backend).await, vec!["published"]);

    // Approving a version the CMS never received fails at once, saying so.
    send(
        json!({"workflow_name": "ApproveArticlePublication", "workflow_data": {
        "article_id": "99999", "version": 1, "run": "nope"}}),
    )
    .await;
    let done = wait_closed(&h, 3, Duration::from_secs(60)).await;
    let bad = done
        .iter()
        .find(|i| {
            i.workflow_type.name == "ApproveArticlePublication"
                && i.close_status != Some(CloseStatus::Completed)
        })
        .expect("the approval of an unknown version failed");
    let why = failure_of(&backend, bad).await;
    assert!(
        why.contains("PublishToCms failed on attempt 1") && why.contains("404"),
        "{why}"
    );

    // Silent correction: the same version, a corrected title.
    let corrected: Vec<(String, Vec<u8>)> = unzip(&sample)
        .into_iter()
        .map(|(n, d)| {
            if n.ends_with(".xml") {
                let x = String::from_utf8(d).expect("utf-8").replacen(
                    "A good life",
                    "A good life (corrected)",
                    1,
                );
                (n, x.into_bytes())
            } else {
                (n, d)
            }
        })
        .collect();
    // The name carries no version: VersionLookup takes the highest published one.
    put(
        &h,
        dir.path(),
        "elife-00353-vor-r1.zip",
        &zip_of(&corrected),
        "silent_corrections",
    );
    let done = wait_closed(&h, 4, Duration::from_secs(60)).await;
    let silent = done
        .iter()
        .find(|i| i.workflow_type.name == "SilentCorrectionsIngest")
        .expect("silent correction ran");
    assert_eq!(
        silent.close_status,
        Some(CloseStatus::Completed),
        "{}\n{}",
        failure_of(&backend, silent).await,
        h.logs()
    );
    let ctx = result_of(&backend, silent).await;
    assert_eq!(
        (ctx["version"].clone(), ctx["version_source"].clone()),
        (json!(1), json!("published")),
        "{ctx}"
    );
    assert_eq!(ctx["cms_silent_correction"], json!(true), "{ctx}");
    assert!(
        ctx.get("published").is_none(),
        "a silent correction publishes nothing: {ctx}"
    );
    let index = pressbot_cms::embedded::load_index(cms_dir.path()).expect("index");
    let versions: Vec<u32> = index.articles["00353"].keys().copied().collect();
    assert_eq!(versions, vec![1], "no new version");
    let v1 = index.version("00353", 1).expect("v1");
    assert_eq!(
        (
            v1.status.as_str(),
            v1.ingests,
            v1.publishes,
            v1.silent_corrections
        ),
        ("published", 1, 1, 1)
    );
    let article: Value = serde_json::from_slice(
        &std::fs::read(cms_dir.path().join("articles/00353/v1.json")).expect("json"),
    )
    .expect("json");
    assert_eq!(article["title"], json!("A good life (corrected)"));
    assert!(
        publication_statuses(&backend).await.is_empty(),
        "a silent correction sends no publication event"
    );
    stop.cancel();
}

/// The README's main command: `pressbot up --ingest <sample> --until-idle`
/// ends with the sample published in the embedded CMS under the data dir,
/// and says where.
#[tokio::test(flavor = "multi_thread")]
async fn pressbot_up_publishes_the_sample_in_the_embedded_cms() {
    let mut h = Harness::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    h.set(
        "PRESSBOT__CMS__EMBEDDED_LISTEN",
        &format!("127.0.0.1:{port}"),
    );
    let sample = repo_root().join(SAMPLE);
    let out = h.pressbot(&[
        "up",
        "--ingest",
        sample.to_str().expect("path"),
        "--until-idle",
        "--timeout",
        "2m",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = h.data_dir().join("cms/articles/00353/v1.json");
    assert!(stdout.contains("COMPLETED"), "{stdout}");
    assert!(
        stdout.contains("Published in the embedded CMS: 1 article version(s)"),
        "{stdout}"
    );
    assert!(stdout.contains(&json.display().to_string()), "{stdout}");
    let article: Value =
        serde_json::from_slice(&std::fs::read(&json).expect("article json")).expect("json");
    assert_eq!(article["doi"], json!("10.7554/eLife.00353"));
    let index = pressbot_cms::embedded::load_index(&h.data_dir().join("cms")).expect("index");
    assert_eq!(
        index.version("00353", 1).map(|r| r.status.as_str()),
        Some("published")
    );
}

/// A re-supplied package whose name carries no version (`-r1`) becomes the
/// next version of a published article; the first stays as it was.
#[tokio::test(flavor = "multi_thread")]
async fn a_resupplied_package_becomes_the_next_version() {
    let cms_dir = tempfile::tempdir().expect("cms dir");
    let (url, stop) = start_embedded_cms(cms_dir.path()).await;
    let mut h = harness(&url);
    h.pressbot_ok(&["create-resources"]);
    h.spawn_all();
    let sample = std::fs::read(repo_root().join(SAMPLE)).expect("sample");
    let dir = tempfile::tempdir().expect("packages dir");
    put(&h, dir.path(), SAMPLE_NAME, &sample, "incoming");
    wait_closed(&h, 1, Duration::from_secs(60)).await;
    // Upper-case extension: the new-file rule matches it too.
    put(
        &h,
        dir.path(),
        "elife-00353-vor-r1.ZIP",
        &sample,
        "incoming",
    );
    let done = wait_closed(&h, 2, Duration::from_secs(60)).await;
    let backend = h.backend();
    for info in &done {
        assert_eq!(
            info.close_status,
            Some(CloseStatus::Completed),
            "{}",
            failure_of(&backend, info).await
        );
    }
    let index = pressbot_cms::embedded::load_index(cms_dir.path()).expect("index");
    for v in [1, 2] {
        let r = index
            .version("00353", v)
            .unwrap_or_else(|| panic!("v{v}: {index:?}"));
        assert_eq!(
            (r.status.as_str(), r.ingests, r.publishes),
            ("published", 1, 1)
        );
    }
    let v2: Value = serde_json::from_slice(
        &std::fs::read(cms_dir.path().join("articles/00353/v2.json")).expect("v2 json"),
    )
    .expect("json");
    assert_eq!(v2["version"], json!(2));
    assert!(
        v2["pdf"]
            .as_str()
            .is_some_and(|p| p.ends_with("elife-00353-v2.pdf")),
        "{v2}"
    );
    let cdn = backend
        .objects
        .list("pressbot-dev-cdn", "articles/00353/")
        .await
        .expect("list cdn");
    let keys: Vec<&str> = cdn.iter().map(|o| o.key.as_str()).collect();
    for k in [
        "articles/00353/elife-00353-v1.pdf",
        "articles/00353/elife-00353-v2.pdf",
    ] {
        assert!(keys.contains(&k), "{keys:?}");
    }
    stop.cancel();
}

/// A package of 500 files, one zipped on a Mac (`./`, `figures/`,
/// `__MACOSX/`, `.DS_Store`) and a revision-named one all complete.
#[tokio::test(flavor = "multi_thread")]
async fn real_world_packages_complete() {
    e2e_pipeline_cases::real_world_packages_reach_the_cms(Harness::new()).await;
}
