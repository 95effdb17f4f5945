//! The publishing pipeline end to end on the embedded backend: the four
//! roles as separate OS processes, real article packages (the sample, and
//! packages built here from the JATS fixtures), and a CMS that is a real
//! HTTP server run by the test (the embedded CMS, or the scriptable
//! misbehaving one).
//!
//! What the CMS received is checked against the JATS source, parsed here
//! with regular expressions, independently of ConvertJATS.

mod support;

use pressbot_cms::testing::{Behavior, MisbehavingCms};
use pressbot_core::backend::{Backend, CloseStatus, ExecutionInfo, OutgoingMessage};
use pressbot_core::history::EventKind;
use regex::Regex;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::{closed, open, repo_root, wait_for, Harness};
use tokio_util::sync::CancellationToken;

const SAMPLE: &str = "tests/fixtures/articles/elife-00353-vor-v1-20121213000000.zip";
const SAMPLE_NAME: &str = "elife-00353-vor-v1-20121213000000.zip";
const STARTER_QUEUE: &str = "pressbot-dev-workflow-starter-queue";

/// The JATS fixtures, each with the version its file name says.
const JATS: &[(&str, &str, u32)] = &[
    ("elife-00007-v1.xml", "00007", 1),
    ("elife-15747-v2.xml", "15747", 2),
    ("elife-18753-v1.xml", "18753", 1),
    ("elife-70357-v2.xml", "70357", 2),
];

// ------------------------------------------------------------ packages

fn jats_path(file: &str) -> PathBuf {
    repo_root().join("tests/fixtures/jats").join(file)
}

/// A zip of (name, bytes) entries, deflated.
fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(name.as_str(), opts).expect("zip entry");
        w.write_all(data).expect("zip write");
    }
    w.finish().expect("zip finish").into_inner()
}

/// The entries of a zip.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).expect("open zip");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).expect("entry");
            let mut data = Vec::new();
            f.read_to_end(&mut data).expect("read entry");
            (f.name().to_owned(), data)
        })
        .collect()
}

/// A small generated figure: a gradient, so it is a real image of its format.
fn image_bytes(format: image::ImageFormat, seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(48, 32, |x, y| {
        image::Rgb([(x * 5 + seed) as u8, (y * 7) as u8, (seed * 40) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode image");
    out.into_inner()
}

/// A tiny but well-formed PDF.
fn tiny_pdf(title: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n% {title}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

/// An eLife-style package for a JATS fixture: the XML, one image per
/// `graphic`/`inline-graphic` it references (TIFF, or PNG with `png`),
/// and a PDF, named `elife-<id>-vor-v<N>-<timestamp>.zip`.
fn package_from_jats(file: &str, id: &str, version: u32, png: bool) -> (String, Vec<u8>) {
    let xml = std::fs::read(jats_path(file)).expect("read JATS fixture");
    let text = String::from_utf8_lossy(&xml).into_owned();
    let mut entries = vec![(file.to_owned(), xml.clone())];
    let href = Regex::new(r#"<(?:inline-)?graphic\b[^>]*xlink:href="([^"]+)""#).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for (n, c) in href.captures_iter(&text).enumerate() {
        let h = c[1].to_owned();
        let name = if h.contains('.') {
            h.clone()
        } else if png {
            format!("{h}.png")
        } else {
            format!("{h}.tif")
        };
        if !seen.insert(name.clone()) {
            continue;
        }
        let format = if name.ends_with(".png") {
            image::ImageFormat::Png
        } else {
            image::ImageFormat::Tiff
        };
        entries.push((name, image_bytes(format, n as u32)));
    }
    entries.push((format!("elife-{id}-v{version}.pdf"), tiny_pdf(file)));
    let name = format!("elife-{id}-vor-v{version}-20240101000000.zip");
    (name, zip_of(&entries))
}

// ------------------------------------------------------------ JATS facts

/// A few facts of a JATS document, read with regular expressions only.
#[derive(Debug)]
struct Expected {
    doi: String,
    title: String,
    surnames: Vec<String>,
    abstract_start: String,
    published: String,
    volume: u64,
    elocation_id: String,
    license_url: String,
    figure_graphics: Vec<String>,
}

fn strip_tags(s: &str) -> String {
    let tags = Regex::new(r"<[^>]*>").unwrap();
    let t = tags.replace_all(s, "");
    let t = t
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#x2009;", "\u{2009}")
        .replace("&amp;", "&");
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn first<'a>(re: &str, text: &'a str) -> Option<regex::Captures<'a>> {
    Regex::new(re).unwrap().captures(text)
}

fn expected_from_jats(xml: &str) -> Expected {
    let meta_start = xml.find("<article-meta").expect("article-meta");
    let meta_end = xml.find("</article-meta>").expect("/article-meta");
    let meta = &xml[meta_start..meta_end];
    let doi = first(r#"<article-id pub-id-type="doi">([^<]+)<"#, meta).expect("doi")[1]
        .trim()
        .to_owned();
    let title =
        strip_tags(&first(r"(?s)<article-title>(.*?)</article-title>", meta).expect("title")[1]);
    let contrib =
        Regex::new(r#"(?s)<contrib\b[^>]*contrib-type="author"[^>]*>(.*?)</contrib>"#).unwrap();
    let surname = Regex::new(r"<surname>([^<]*)</surname>").unwrap();
    let surnames = contrib
        .captures_iter(meta)
        .map(|c| {
            surname
                .captures(&c[1])
                .map(|s| s[1].trim().to_owned())
                .unwrap_or_default()
        })
        .collect();
    let abs = &first(r"(?s)<abstract>(.*?)</abstract>", meta).expect("abstract")[1];
    let abs = strip_tags(&first(r"(?s)<p>(.*?)</p>", abs).expect("abstract p")[1]);
    let abstract_start: String = abs.chars().take(40).collect();
    let date = &first(
        r#"(?s)<pub-date[^>]*date-type="(?:pub|publication)"[^>]*>(.*?)</pub-date>"#,
        meta,
    )
    .expect("pub-date")[1];
    let num = |tag: &str| -> u32 {
        first(&format!("<{tag}>([0-9]+)</{tag}>"), date).expect("date part")[1]
            .parse()
            .unwrap()
    };
    let published = format!("{:04}-{:02}-{:02}", num("year"), num("month"), num("day"));
    let volume = first(r"<volume>([0-9]+)</volume>", meta).expect("volume")[1]
        .parse()
        .unwrap();
    let elocation_id =
        first(r"<elocation-id>([^<]+)</elocation-id>", meta).expect("elocation")[1].to_owned();
    let license_url =
        first(r#"<license\b[^>]*xlink:href="([^"]+)""#, meta).expect("license")[1].to_owned();
    // Figures of the article itself: not those of sub-articles (decision letters).
    let subs = Regex::new(r"(?s)<sub-article\b.*?</sub-article>").unwrap();
    let body = subs.replace_all(xml, "");
    let fig = Regex::new(r"(?s)<fig\b[^>]*>(.*?)</fig>").unwrap();
    let graphic = Regex::new(r#"<graphic\b[^>]*xlink:href="([^"]+)""#).unwrap();
    let figure_graphics = fig
        .captures_iter(&body)
        .filter_map(|f| graphic.captures(&f[1]).map(|g| g[1].to_owned()))
        .collect();
    Expected {
        doi,
        title,
        surnames,
        abstract_start,
        published,
        volume,
        elocation_id,
        license_url,
        figure_graphics,
    }
}

/// Compare the article JSON the CMS holds with the JATS source.
async fn check_article(article: &Value, xml: &str, version: u32, backend: &Backend) {
    let e = expected_from_jats(xml);
    let what = &e.doi;
    assert_eq!(article["doi"], json!(e.doi), "{what}: doi");
    assert_eq!(article["version"], json!(version), "{what}: version");
    assert_eq!(
        strip_tags(article["title"].as_str().expect("title")),
        e.title,
        "{what}: title"
    );
    let authors = article["authors"].as_array().expect("authors");
    assert_eq!(authors.len(), e.surnames.len(), "{what}: author count");
    let got: Vec<String> = authors
        .iter()
        .map(|a| a["surname"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(got, e.surnames, "{what}: author surnames in order");
    for a in authors {
        let name = a["name"].as_str().expect("author name");
        assert!(
            name.ends_with(a["surname"].as_str().unwrap_or_default()),
            "{what}: author name {name}"
        );
    }
    let abs = strip_tags(article["abstract"].as_str().expect("abstract"));
    assert!(
        abs.starts_with(&e.abstract_start),
        "{what}: abstract {abs:?} should start with {:?}",
        e.abstract_start
    );
    assert_eq!(
        article["published"],
        json!(e.published),
        "{what}: publication date"
    );
    assert_eq!(article["volume"], json!(e.volume), "{what}: volume");
    assert_eq!(
        article["elocation_id"],
        json!(e.elocation_id),
        "{what}: elocation id"
    );
    assert_eq!(
        article["license"]["url"],
        json!(e.license_url),
        "{what}: license"
    );
    let figures = article["figures"].as_array().expect("figures");
    let graphics: Vec<&str> = figures
        .iter()
        .map(|f| f["graphic"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(graphics, e.figure_graphics, "{what}: figures");
    // Every web image the JSON points at was deposited in the CDN bucket.
    for f in figures {
        for s in f["sources"].as_array().expect("sources") {
            let url = s["url"].as_str().expect("url");
            let key = &url[url.find("/articles/").expect("cdn path") + 1..];
            let there = backend
                .objects
                .head("pressbot-dev-cdn", key)
                .await
                .expect("head cdn");
            assert!(there.is_some(), "{what}: {key} is not in the CDN bucket");
        }
    }
}

// ------------------------------------------------------------ helpers

/// A harness whose CMS is at `base_url`, with short CMS timeouts and short
/// retry waits (the repository's policies wait 10-30 s before a retry).
fn harness(cms_base_url: &str) -> Harness {
    let mut h = Harness::new();
    h.set("PRESSBOT__CMS__BASE_URL", cms_base_url);
    h.set("PRESSBOT__CMS__EMBEDDED", "false");
    h.set("PRESSBOT__CMS__REQUEST_TIMEOUT", "2s");
    h.set("PRESSBOT__CMS__CONNECT_TIMEOUT", "1s");
    h.set("PRESSBOT__CMS__MAX_RETRY_AFTER", "5s");
    let initial = Regex::new(r#"initial = "[0-9]+s""#).unwrap();
    let max = Regex::new(r#"max = "[0-9]+m""#).unwrap();
    for file in [
        "IngestArticleZip.toml",
        "SilentCorrectionsIngest.toml",
        "ApproveArticlePublication.toml",
    ] {
        let text = std::fs::read_to_string(repo_root().join("workflows").join(file))
            .expect("read workflow");
        let fast = initial.replace_all(&text, r#"initial = "1s""#);
        let fast = max.replace_all(&fast, r#"max = "2s""#);
        h.add_workflow(file, &fast);
    }
    h
}

/// Put a package into a bucket (role or name) through the CLI, which fires
/// the bucket's notification as S3 would.
fn put(h: &Harness, dir: &Path, name: &str, bytes: &[u8], bucket: &str) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write package");
    h.pressbot_ok(&["put", path.to_str().expect("path"), "--bucket", bucket]);
}

/// Wait until `n` executions have closed and none is open.
async fn wait_closed(h: &Harness, n: usize, timeout: Duration) -> Vec<ExecutionInfo> {
    let backend = h.backend();
    let logs = h.path().join("logs");
    wait_for(
        &format!("{n} workflows to close (logs in {})", logs.display()),
        timeout,
        || {
            let b = backend.clone();
            async move {
                let done = closed(&b).await;
                (done.len() >= n && open(&b).await.is_empty()).then_some(done)
            }
        },
    )
    .await
}

/// The failure reason and details of a closed execution.
async fn failure_of(backend: &Backend, info: &ExecutionInfo) -> String {
    let events = backend
        .workflows
        .history(&info.execution)
        .await
        .expect("history");
    events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::WorkflowExecutionFailed { reason, details } => Some(format!(
                "{} | {}",
                reason.as_deref().unwrap_or(""),
                details.as_deref().unwrap_or("")
            )),
            _ => None,
        })
        .unwrap_or_default()
}

/// The workflow's final context (its completion result).
async fn result_of(backend: &Backend, info: &ExecutionInfo) -> Value {
    let events = backend
        .workflows
        .history(&info.execution)
        .await
        .expect("history");
    events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::WorkflowExecutionCompleted { result } => {
                result.as_deref().and_then(|r| serde_json::from_str(r).ok())
            }
            _ => None,
        })
        .unwrap_or(Value::Null)
}

fn package_of(info: &ExecutionInfo) -> String {
    let id = info.execution.workflow_id.as_str();
    let start = id.find("elife-").unwrap_or(0);
    let end = id.find(".zip").map(|e| e + 4).unwrap_or(id.len());
    id[start..end].to_owned()
}

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

async fn start_embedded_cms(dir: &Path) -> (String, CancellationToken) {
    let stop = CancellationToken::new();
    let cms = pressbot_cms::embedded::EmbeddedCms::serve(
        dir,
        "127.0.0.1:0".parse().unwrap(),
        stop.clone(),
    )
    .await
    .expect("embedded CMS");
    let url = cms.base_url();
    tokio::spawn(async move {
        let _ = cms.join().await;
    });
    (url, stop)
}

// ------------------------------------------------------------ tests

#[tokio::test(flavor = "multi_thread")]
async fn every_fixture_package_reaches_the_cms_as_its_jats_says() {
    let cms_dir = tempfile::tempdir().expect("cms dir");
    let (url, stop) = start_embedded_cms(cms_dir.path()).await;
    let mut h = harness(&url);
    h.pressbot_ok(&["create-resources"]);
    h.spawn_all();
    let packages = tempfile::tempdir().expect("packages dir");
    let sample = repo_root().join(SAMPLE);
    h.pressbot_ok(&["put", sample.to_str().expect("path")]);
    let mut sources: BTreeMap<String, (String, u32)> = BTreeMap::new();
    let sample_xml = unzip(&std::fs::read(&sample).expect("sample"))
        .into_iter()
        .find(|(n, _)| n.ends_with(".xml"))
        .expect("sample xml");
    sources.insert(
        "00353".into(),
        (String::from_utf8(sample_xml.1).expect("utf-8"), 1),
    );
    for (i, (file, id, version)) in JATS.iter().enumerate() {
        let (name, bytes) = package_from_jats(file, id, *version, i == 2);
        put(&h, packages.path(), &name, &bytes, "incoming");
        let xml = std::fs::read_to_string(jats_path(file)).expect("xml");
        sources.insert((*id).into(), (xml, *version));
    }
    let done = wait_closed(&h, sources.len(), Duration::from_secs(120)).await;
    let backend = h.backend();
    for info in &done {
        assert_eq!(
            info.close_status,
            Some(CloseStatus::Completed),
            "{}: {}\n{}",
            info.execution.workflow_id,
            failure_of(&backend, info).await,
            h.logs()
        );
        let ctx = result_of(&backend, info).await;
        assert_eq!(ctx["published"], json!(true), "{ctx}");
        assert!(
            ctx["archive_key"]
                .as_str()
                .is_some_and(|k| k.ends_with(&package_of(info))),
            "{ctx}"
        );
    }
    let index = pressbot_cms::embedded::load_index(cms_dir.path()).expect("cms index");
    for (id, (xml, version)) in &sources {
        let record = index
            .version(id, *version)
            .unwrap_or_else(|| panic!("{id} v{version} not in the CMS: {index:?}"));
        assert_eq!(record.status, "published", "{id}");
        assert_eq!((record.ingests, record.publishes), (1, 1), "{id}");
        let path = cms_dir
            .path()
            .join("articles")
            .join(id)
            .join(format!("v{version}.json"));
        let article: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("article json")).expect("json");
        check_article(&article, xml, *version, &backend).await;
    }
    stop.cancel();
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
