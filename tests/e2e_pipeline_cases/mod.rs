//! The fixture-package case of `e2e_pipeline.rs`, written once and run on
//! both backends: by `e2e_pipeline.rs` on the embedded backend and by
//! `e2e_pipeline_aws.rs` on the AWS backend against moto_server, with the
//! helpers it needs (packages built from the JATS fixtures, facts read from
//! JATS with regular expressions, independently of ConvertJATS). Buckets
//! and queues are reached only through the harness, so names follow its
//! prefix.
#![allow(dead_code)]

use crate::support::{closed, open, repo_root, wait_for, Harness};
use pressbot_core::backend::{Backend, CloseStatus, ExecutionInfo};
use pressbot_core::history::EventKind;
use regex::Regex;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const SAMPLE: &str = "tests/fixtures/articles/elife-00353-vor-v1-20121213000000.zip";
pub const SAMPLE_NAME: &str = "elife-00353-vor-v1-20121213000000.zip";

/// The JATS fixtures, each with the version its file name says.
pub const JATS: &[(&str, &str, u32)] = &[
    ("elife-00007-v1.xml", "00007", 1),
    ("elife-15747-v2.xml", "15747", 2),
    ("elife-18753-v1.xml", "18753", 1),
    ("elife-70357-v2.xml", "70357", 2),
];

// ------------------------------------------------------------ packages

pub fn jats_path(file: &str) -> PathBuf {
    repo_root().join("tests/fixtures/jats").join(file)
}

/// A zip of (name, bytes) entries, deflated.
pub fn zip_of(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
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
pub fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).expect("open zip");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).expect("entry");
            let mut data = Vec::new();
            f.read_to_end(&mut data).expect("read entry");
            (f.name().expect("entry name").into_owned(), data)
        })
        .collect()
}

/// A small generated figure: a gradient, so it is a real image of its format.
pub fn image_bytes(format: image::ImageFormat, seed: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(48, 32, |x, y| {
        image::Rgb([(x * 5 + seed) as u8, (y * 7) as u8, (seed * 40) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode image");
    out.into_inner()
}

/// A tiny but well-formed PDF.
pub fn tiny_pdf(title: &str) -> Vec<u8> {
    format!(
        "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n% {title}\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    )
    .into_bytes()
}

/// An eLife-style package for a JATS fixture: the XML, one image per
/// `graphic`/`inline-graphic` it references (TIFF, or PNG with `png`),
/// and a PDF, named `elife-<id>-vor-v<N>-<timestamp>.zip`.
pub fn package_from_jats(file: &str, id: &str, version: u32, png: bool) -> (String, Vec<u8>) {
    let entries = entries_from_jats(file, id, version, png);
    let name = format!("elife-{id}-vor-v{version}-20240101000000.zip");
    (name, zip_of(&entries))
}

/// The entries of [`package_from_jats`]'s package: the XML, its images, a PDF.
pub fn entries_from_jats(file: &str, id: &str, version: u32, png: bool) -> Vec<(String, Vec<u8>)> {
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
    // Every other file the XML names (videos, supplements, source data):
    // a few placeholder bytes each, as the converter requires them present.
    let other =
        Regex::new(r#"<(?:media|supplementary-material|ext-link)\b[^>]*xlink:href="([^"/:#]+)""#)
            .unwrap();
    for c in other.captures_iter(&text) {
        let name = c[1].to_owned();
        let main_pdf = format!("elife-{id}-v{version}.pdf");
        if name.contains('.') && name != main_pdf && seen.insert(name.clone()) {
            entries.push((
                name.clone(),
                format!("placeholder for {name}\n").into_bytes(),
            ));
        }
    }
    entries.push((format!("elife-{id}-v{version}.pdf"), tiny_pdf(file)));
    entries
}

/// A zip as packing tools write it: names ending in `/` are directory
/// entries, the others files.
pub fn zip_with_dirs(entries: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        if name.ends_with('/') {
            w.add_directory(name.as_str(), opts).expect("zip dir");
        } else {
            w.start_file(name.as_str(), opts).expect("zip entry");
            w.write_all(data).expect("zip write");
        }
    }
    w.finish().expect("zip finish").into_inner()
}

/// Files in a package of `total` files built from a JATS fixture: its own
/// entries plus generated figures (small PNGs under `figures/`, one in
/// three of all files) and supplementary files of a few bytes (under
/// `supplementary/`) up to `total`. Far more than SWF's 32 KB context
/// could list.
pub fn large_package(file: &str, id: &str, version: u32, total: usize) -> (String, Vec<u8>) {
    let mut entries = entries_from_jats(file, id, version, false);
    let figures = total / 3 - entries.len().min(total / 3);
    for n in 0..figures {
        entries.push((
            format!(
                "figures/elife-{id}-fig{}-figsupp{n}-v{version}.png",
                900 + n
            ),
            image_bytes(image::ImageFormat::Png, n as u32),
        ));
    }
    let kinds = ["csv", "xlsx", "docx", "mp4", "txt", "zip", "r"];
    let mut n = 0;
    while entries.len() < total {
        let ext = kinds[n % kinds.len()];
        entries.push((
            format!("supplementary/elife-{id}-supp{n}-v{version}.{ext}"),
            format!("supplement {n}\n").into_bytes(),
        ));
        n += 1;
    }
    let name = format!("elife-{id}-vor-v{version}-20240101000000.zip");
    (name, zip_with_dirs(&entries))
}

/// A package laid out as a Mac user's zip of a folder would be: `./` and
/// folder entries, the figures in `figures/`, `__MACOSX/._*` resource
/// forks and `.DS_Store` files; named `name`.
pub fn messy_package(file: &str, id: &str, version: u32, name: &str) -> (String, Vec<u8>) {
    let mut entries: Vec<(String, Vec<u8>)> = vec![
        ("./".into(), Vec::new()),
        ("figures/".into(), Vec::new()),
        ("__MACOSX/".into(), Vec::new()),
        (".DS_Store".into(), b"\0\0\0\x01Bud1".to_vec()),
    ];
    for (n, d) in entries_from_jats(file, id, version, false) {
        if n.ends_with(".tif") {
            entries.push((
                format!("__MACOSX/figures/._{n}"),
                b"\0\x05\x16\x07".to_vec(),
            ));
            entries.push((format!("figures/{n}"), d));
        } else {
            entries.push((format!("./{n}"), d));
        }
    }
    entries.push(("figures/.DS_Store".into(), b"Bud1".to_vec()));
    entries.push(("__MACOSX/._x".into(), b"\0\x05\x16\x07".to_vec()));
    (name.to_owned(), zip_with_dirs(&entries))
}

// ------------------------------------------------------------ JATS facts

/// A few facts of a JATS document, read with regular expressions only.
#[derive(Debug)]
pub struct Expected {
    pub doi: String,
    pub title: String,
    pub surnames: Vec<String>,
    pub abstract_start: String,
    pub published: String,
    pub volume: u64,
    pub elocation_id: String,
    pub license_url: String,
    pub figure_graphics: Vec<String>,
}

pub fn strip_tags(s: &str) -> String {
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

pub fn first<'a>(re: &str, text: &'a str) -> Option<regex::Captures<'a>> {
    Regex::new(re).unwrap().captures(text)
}

pub fn expected_from_jats(xml: &str) -> Expected {
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

/// eLife's article-json models (api-raml), kept with the converter.
pub fn schema_validator(status: &str) -> jsonschema::Validator {
    let file = if status == "poa" {
        "article-poa.v4.json"
    } else {
        "article-vor.v8.json"
    };
    let path = repo_root().join("crates/jats/tests/schema").join(file);
    let schema: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("schema")).expect("schema JSON");
    jsonschema::draft4::new(&schema).expect("schema compiles")
}

/// Every string of a JSON tree that contains `/articles/` (an asset URL on the CDN).
fn asset_urls(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.starts_with("http") && s.contains("/articles/") => {
            out.push(s.clone())
        }
        Value::Object(o) => o.values().for_each(|v| asset_urls(v, out)),
        Value::Array(a) => a.iter().for_each(|v| asset_urls(v, out)),
        _ => {}
    }
}

/// Compare the article-json the CMS holds with the JATS source (parsed here
/// with regular expressions, independently of the converter), validate it
/// against eLife's models, and check that every asset URL in it is a file
/// in `cdn_bucket` (the harness's, so prefixed on AWS).
pub async fn check_article(
    article: &Value,
    xml: &str,
    version: u32,
    backend: &Backend,
    cdn_bucket: &str,
) {
    let e = expected_from_jats(xml);
    let what = &e.doi;
    let status = article["status"].as_str().expect("status");
    let errors: Vec<String> = schema_validator(status)
        .iter_errors(article)
        .take(10)
        .map(|err| format!("{err} at {}", err.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: not valid article-json:\n{}",
        errors.join("\n")
    );
    assert_eq!(article["doi"], json!(e.doi), "{what}: doi");
    assert_eq!(article["version"], json!(version), "{what}: version");
    assert_eq!(
        strip_tags(article["title"].as_str().expect("title")),
        e.title,
        "{what}: title"
    );
    // People among the authors, in order: their index names start with the surnames.
    let people: Vec<String> = article["authors"]
        .as_array()
        .expect("authors")
        .iter()
        .filter(|a| a["type"] == "person")
        .map(|a| a["name"]["index"].as_str().unwrap_or_default().to_owned())
        .collect();
    let surnames: Vec<&String> = e.surnames.iter().filter(|s| !s.is_empty()).collect();
    assert_eq!(
        people.len(),
        surnames.len(),
        "{what}: people among the authors: {people:?}"
    );
    for (index, surname) in people.iter().zip(&surnames) {
        assert!(
            strip_tags(index).starts_with(surname.as_str()),
            "{what}: author {index:?} should be {surname:?}"
        );
    }
    let abs = strip_tags(
        article["abstract"]["content"][0]["text"]
            .as_str()
            .expect("abstract paragraph"),
    );
    assert!(
        abs.starts_with(&e.abstract_start),
        "{what}: abstract {abs:?} should start with {:?}",
        e.abstract_start
    );
    assert!(
        article["published"]
            .as_str()
            .is_some_and(|p| p.starts_with(&e.published)),
        "{what}: publication date {} should be {}",
        article["published"],
        e.published
    );
    assert_eq!(article["volume"], json!(e.volume), "{what}: volume");
    assert_eq!(
        article["elocationId"],
        json!(e.elocation_id),
        "{what}: elocation id"
    );
    let license = article["copyright"]["license"].as_str().expect("licence");
    let version_in_url = first(r"/by/([0-9.]+)", &e.license_url).map(|c| c[1].to_owned());
    if let Some(v) = version_in_url {
        assert_eq!(
            license,
            format!("CC-BY-{v}"),
            "{what}: licence of {}",
            e.license_url
        );
    }
    // Every figure of the XML is an image in the JSON, from its web JPEG.
    let mut urls = Vec::new();
    asset_urls(article, &mut urls);
    for g in &e.figure_graphics {
        let stem = g.rsplit_once('.').map_or(g.as_str(), |(s, _)| s);
        assert!(
            urls.iter()
                .any(|u| u.contains(&format!("/{stem}-")) && u.ends_with(".jpg")),
            "{what}: figure {g} has no web image in the JSON"
        );
    }
    // Every asset URL in the JSON is a file deposited in the CDN bucket.
    assert!(!urls.is_empty(), "{what}: no asset URL at all");
    for url in urls {
        let key = &url[url.find("/articles/").expect("cdn path") + 1..];
        let there = backend
            .objects
            .head(cdn_bucket, key)
            .await
            .expect("head cdn");
        assert!(there.is_some(), "{what}: {key} is not in the CDN bucket");
    }
}

// ------------------------------------------------------------ helpers

/// A harness whose CMS is at `base_url`, with short CMS timeouts and short
/// retry waits (the repository's policies wait 10-30 s before a retry).
pub fn harness(cms_base_url: &str) -> Harness {
    let mut h = Harness::new();
    configure(&mut h, cms_base_url);
    h
}

/// Point `h` at the CMS at `cms_base_url`, with short CMS timeouts and
/// short retry waits; for either backend.
pub fn configure(h: &mut Harness, cms_base_url: &str) {
    h.set("PRESSBOT__CMS__BASE_URL", cms_base_url);
    h.set("PRESSBOT__CMS__EMBEDDED", "false");
    h.set("PRESSBOT__CMS__REQUEST_TIMEOUT", "2s");
    h.set("PRESSBOT__CMS__CONNECT_TIMEOUT", "1s");
    h.set("PRESSBOT__CMS__MAX_RETRY_AFTER", "5s");
    // eLife's model requires https for video sources, as any production CDN
    // serves; the checks below look each URL's file up in the CDN bucket.
    h.set(
        "PRESSBOT__ACTIVITIES__CDN_BASE_URL",
        "https://cdn.pressbot.test",
    );
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
}

/// Put a package into a bucket (role or name) through the CLI, which fires
/// the bucket's notification as S3 would.
pub fn put(h: &Harness, dir: &Path, name: &str, bytes: &[u8], bucket: &str) {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write package");
    h.pressbot_ok(&["put", path.to_str().expect("path"), "--bucket", bucket]);
}

/// Wait until `n` executions have closed and none is open.
pub async fn wait_closed(h: &Harness, n: usize, timeout: Duration) -> Vec<ExecutionInfo> {
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
pub async fn failure_of(backend: &Backend, info: &ExecutionInfo) -> String {
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
pub async fn result_of(backend: &Backend, info: &ExecutionInfo) -> Value {
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

pub fn package_of(info: &ExecutionInfo) -> String {
    let id = info.execution.workflow_id.as_str();
    let start = id.find("elife-").unwrap_or(0);
    let end = id.find(".zip").map(|e| e + 4).unwrap_or(id.len());
    id[start..end].to_owned()
}

pub async fn start_embedded_cms(dir: &Path) -> (String, CancellationToken) {
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

// ------------------------------------------------------------ cases

/// The sample and a package built from every JATS fixture, put into the
/// incoming bucket of `h` (a fresh harness of either backend): every
/// workflow completes and the CMS (the embedded one, served here) holds
/// each article as its JATS says, its web images in the CDN bucket.
pub async fn every_fixture_package_reaches_the_cms(mut h: Harness) {
    let cms_dir = tempfile::tempdir().expect("cms dir");
    let (url, stop) = start_embedded_cms(cms_dir.path()).await;
    configure(&mut h, &url);
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
    // moto answers more slowly than the embedded backend.
    let timeout = Duration::from_secs(if h.is_aws() { 300 } else { 120 });
    let done = wait_closed(&h, sources.len(), timeout).await;
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
        check_article(&article, xml, *version, &backend, &h.bucket("cdn")).await;
    }
    stop.cancel();
}

/// Packages as publishers ship them, on `h` (a fresh harness of either
/// backend): one of 500 files (its lists would make an 80+ KB workflow
/// context: manifests keep it small), one zipped on a Mac with folders and
/// junk entries, and one named as a revision (`-vor-r1`). Each completes,
/// reaches the CMS as its JATS says, and every file of the package is on
/// the CDN.
pub async fn real_world_packages_reach_the_cms(mut h: Harness) {
    const LARGE: usize = 500;
    let cms_dir = tempfile::tempdir().expect("cms dir");
    let (url, stop) = start_embedded_cms(cms_dir.path()).await;
    configure(&mut h, &url);
    h.pressbot_ok(&["create-resources"]);
    h.spawn_all();
    let dir = tempfile::tempdir().expect("packages dir");
    let (large_name, large) = large_package("elife-00007-v1.xml", "00007", 1, LARGE);
    assert_eq!(unzip(&large).len(), LARGE);
    let (messy_name, messy) = messy_package(
        "elife-15747-v2.xml",
        "15747",
        2,
        "elife-15747-vor-v2-20240101000000.zip",
    );
    // Nothing published for 18753 yet: the revision becomes version 1.
    let (revision_name, revision) =
        messy_package("elife-18753-v1.xml", "18753", 1, "elife-18753-vor-r1.zip");
    for (name, bytes) in [
        (&large_name, &large),
        (&messy_name, &messy),
        (&revision_name, &revision),
    ] {
        put(&h, dir.path(), name, bytes, "incoming");
    }
    let timeout = Duration::from_secs(if h.is_aws() { 600 } else { 240 });
    let done = wait_closed(&h, 3, timeout).await;
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
        let size = serde_json::to_vec(&ctx).expect("context").len();
        assert!(
            size < 4096,
            "{}: context of {size} bytes: {ctx}",
            package_of(info)
        );
        for key in ["manifest_key", "images_key", "assets_key"] {
            assert!(
                ctx[key].as_str().is_some_and(|k| k.ends_with(".json")),
                "{key}: {ctx}"
            );
        }
        for gone in ["figures", "supplementary", "images", "assets"] {
            assert!(
                ctx.get(gone).is_none(),
                "{gone} still in the context: {ctx}"
            );
        }
        if package_of(info) == large_name {
            assert_eq!(ctx["file_count"], json!(LARGE), "{ctx}");
            // The manifest lists every file with its media type and size.
            let manifest = backend
                .objects
                .get(
                    &h.bucket("expanded"),
                    ctx["manifest_key"].as_str().expect("key"),
                )
                .await
                .expect("manifest");
            let manifest: Value = serde_json::from_slice(&manifest.body).expect("json");
            let files = manifest["files"].as_array().expect("files");
            assert_eq!(files.len(), LARGE);
            assert!(files.iter().any(|f| f["media_type"] == "image/png"
                && f["zip_path"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("figures/"))));
            assert!(files.iter().all(|f| f["size"].as_u64().is_some()));
        }
    }
    let index = pressbot_cms::embedded::load_index(cms_dir.path()).expect("cms index");
    let cdn = h.bucket("cdn");
    for (file, id, version) in [
        ("elife-00007-v1.xml", "00007", 1),
        ("elife-15747-v2.xml", "15747", 2),
        ("elife-18753-v1.xml", "18753", 1),
    ] {
        let record = index
            .version(id, version)
            .unwrap_or_else(|| panic!("{id} v{version} not in the CMS: {index:?}"));
        assert_eq!(record.status, "published", "{id}");
        let path = cms_dir
            .path()
            .join("articles")
            .join(id)
            .join(format!("v{version}.json"));
        let article: Value =
            serde_json::from_slice(&std::fs::read(&path).expect("article json")).expect("json");
        let xml = std::fs::read_to_string(jats_path(file)).expect("xml");
        check_article(&article, &xml, version, &backend, &cdn).await;
        // Junk never reaches the CDN.
        let on_cdn = backend
            .objects
            .list(&cdn, &format!("articles/{id}/"))
            .await
            .expect("list cdn");
        assert!(
            on_cdn
                .iter()
                .all(|o| !o.key.contains("DS_Store") && !o.key.contains("._")),
            "{id}: {:?}",
            on_cdn.iter().map(|o| &o.key).collect::<Vec<_>>()
        );
        if id == "00007" {
            let supplements = on_cdn.iter().filter(|o| o.key.contains("-supp")).count();
            let jpegs = on_cdn.iter().filter(|o| o.key.ends_with(".jpg")).count();
            assert!(supplements > 300, "{supplements} supplements on the CDN");
            assert!(jpegs >= 2 * 150, "{jpegs} web images on the CDN");
        }
    }
    stop.cancel();
}
