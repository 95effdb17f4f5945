//! The article activities end to end on the real package, over an
//! in-memory object store: each step's output is merged into the context
//! as the decider does, and the stored objects are checked.

mod common;

use common::{ctx, env_with, merge, read_data, settings, MemStore};
use pressbot_activities::{Activity, Registry};
use pressbot_core::activity::FailureKind;
use serde_json::{json, Value};
use std::sync::Arc;

const PACKAGE: &str = "elife-00353-vor-v1-20121213000000.zip";

struct World {
    store: Arc<MemStore>,
    registry: Registry,
    incoming: String,
    expanded: String,
    cdn: String,
    archive: String,
    silent: String,
}

fn world() -> World {
    let s = settings();
    let store = Arc::new(MemStore::default());
    let b = |r: &str| s.bucket(r).unwrap();
    let (incoming, expanded, cdn, archive, silent) = (
        b("incoming"),
        b("expanded"),
        b("cdn"),
        b("archive"),
        b("silent_corrections"),
    );
    let env = env_with(store.clone(), s);
    World {
        store,
        registry: Registry::standard(env),
        incoming,
        expanded,
        cdn,
        archive,
        silent,
    }
}

impl World {
    fn json(&self, bucket: &str, key: &str) -> Value {
        let o = self
            .store
            .object(bucket, key)
            .unwrap_or_else(|| panic!("{bucket}/{key} missing"));
        serde_json::from_slice(&o.body).unwrap_or_else(|e| panic!("{key}: {e}"))
    }

    fn activity(&self, name: &str) -> Arc<dyn Activity> {
        self.registry
            .get(name)
            .unwrap_or_else(|| panic!("{name} not registered"))
    }

    async fn step(&self, name: &str, context: &mut Value) -> Value {
        let out = self
            .activity(name)
            .run(&ctx(context.clone()))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        merge(context, out.clone());
        out
    }
}

fn start(bucket: &str, key: &str) -> Value {
    json!({"bucket_name": bucket, "file_name": key, "file_etag": "e", "file_size": 1})
}

/// Every string in the article that is a URL on the test CDN.
fn collect_cdn_urls(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.starts_with("https://cdn.example.org/") => out.push(s.clone()),
        Value::Object(o) => o.values().for_each(|v| collect_cdn_urls(v, out)),
        Value::Array(a) => a.iter().for_each(|v| collect_cdn_urls(v, out)),
        _ => {}
    }
}

/// The first block holding an image (a figure asset or an image block)
/// anywhere in a tree of content blocks.
fn find_figure(v: &Value) -> Option<&Value> {
    match v {
        Value::Object(o) if o.get("image").is_some_and(|i| i.get("source").is_some()) => Some(v),
        Value::Object(o) => o.values().find_map(find_figure),
        Value::Array(a) => a.iter().find_map(find_figure),
        _ => None,
    }
}

#[tokio::test]
async fn the_whole_article_flow_on_the_real_package() {
    let w = world();
    w.store.insert(&w.incoming, PACKAGE, read_data(PACKAGE));
    let mut c = start(&w.incoming, PACKAGE);

    let mut out = w.step("VersionLookup", &mut c).await;
    // The package identity: 16 hex digits of bucket/key/eTag (see crate::identity).
    let package = out
        .as_object_mut()
        .and_then(|o| o.remove("package"))
        .expect("a package identity");
    assert!(
        package
            .as_str()
            .is_some_and(|p| p.len() == 16 && p.bytes().all(|b| b.is_ascii_hexdigit())),
        "{package}"
    );
    assert_eq!(
        out,
        json!({"article_id": "00353", "status": "vor", "version": 1, "version_source": "file_name",
               "revision": null, "update_date": "2012-12-13T00:00:00Z", "run": "run-1"})
    );

    let out = w.step("ExpandArticle", &mut c).await;
    assert_eq!(out["expanded_folder"], "00353.1/run-1");
    assert_eq!(out["xml_key"], "00353.1/run-1/elife-00353-v1.xml");
    assert_eq!(out["pdf_key"], "00353.1/run-1/elife-00353-v1.pdf");
    assert_eq!(out["manifest_key"], "00353.1/run-1/manifest.json");
    assert_eq!(out["file_count"], 3);
    assert!(out.get("figures").is_none() && out.get("supplementary").is_none());
    let manifest = w.json(&w.expanded, "00353.1/run-1/manifest.json");
    assert_eq!(manifest["package"], PACKAGE);
    assert_eq!(manifest["folder"], "00353.1/run-1");
    let figures: Vec<&Value> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["role"] == "figure")
        .collect();
    assert_eq!(figures.len(), 1);
    assert_eq!(figures[0]["key"], "00353.1/run-1/elife-00353-fig1-v1.tif");
    assert_eq!(figures[0]["media_type"], "image/tiff");
    assert_eq!(figures[0]["size"], 961324);
    let pdf_entry = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["role"] == "pdf")
        .unwrap();
    assert_eq!(pdf_entry["media_type"], "application/pdf");
    assert_eq!(pdf_entry["size"], 936318);
    let pdf = w
        .store
        .object(&w.expanded, "00353.1/run-1/elife-00353-v1.pdf")
        .unwrap();
    assert_eq!(pdf.body.len(), 936318);
    assert_eq!(pdf.meta.content_type.as_deref(), Some("application/pdf"));

    let out = w.step("ApplyVersionNumber", &mut c).await;
    assert_eq!(out["renamed"], 0, "already version 1");
    assert_eq!(out["xml_key"], "00353.1/run-1/elife-00353-v1.xml");

    let rctx = ctx(c.clone());
    let out = w.activity("ResizeImages").run(&rctx).await.unwrap();
    assert_eq!(
        rctx.progress.take().as_deref(),
        Some("resized 1 of 1 figures")
    );
    merge(&mut c, out.clone());
    assert_eq!(out["images_key"], "00353.1/run-1/images.json");
    assert_eq!(out["image_count"], 1);
    let images = w.json(&w.expanded, "00353.1/run-1/images.json");
    let fig = &images["images"][0];
    assert_eq!(fig["name"], "elife-00353-fig1-v1.tif");
    assert_eq!(fig["source"], "00353.1/run-1/elife-00353-fig1-v1.tif");
    let renditions = fig["renditions"].as_array().unwrap();
    assert_eq!(renditions.len(), 2);
    assert_eq!(
        renditions[0]["key"],
        "00353.1/run-1/elife-00353-fig1-v1-400w.jpg"
    );
    assert_eq!(renditions[0]["filename"], "elife-00353-fig1-v1-400w.jpg");
    assert_eq!(renditions[0]["width"], 400);
    assert_eq!(renditions[0]["requested_width"], 400);
    assert_eq!(renditions[1]["width"], 100);
    let jpeg = w
        .store
        .object(&w.expanded, "00353.1/run-1/elife-00353-fig1-v1-400w.jpg")
        .unwrap();
    let decoded = image::load_from_memory(&jpeg.body).unwrap();
    assert_eq!(decoded.width(), 400);
    // The height recorded is the JPEG's own, and the proportions are kept.
    assert_eq!(renditions[0]["height"], decoded.height());
    let (fw, fh) = (
        fig["width"].as_u64().unwrap(),
        fig["height"].as_u64().unwrap(),
    );
    // Rounded to the nearest pixel, as ImageMagick's `-resize 400x`.
    assert_eq!(u64::from(decoded.height()), (fh * 800 + fw) / (2 * fw));
    assert_eq!(jpeg.meta.content_type.as_deref(), Some("image/jpeg"));

    let out = w.step("ConvertJATS", &mut c).await;
    assert_eq!(out["article_json_key"], "00353.1/run-1/article.json");
    assert_eq!(out["doi"], "10.7554/eLife.00353");
    let stored = w
        .store
        .object(&w.expanded, "00353.1/run-1/article.json")
        .unwrap();
    let article: Value = serde_json::from_slice(&stored.body).unwrap();
    assert_eq!(article["title"], "A good life");
    assert_eq!(article["version"], 1);
    assert_eq!(article["status"], "vor");
    assert_eq!(article["id"], "00353");
    assert_eq!(out["warnings"], json!(0), "00353 converts without warnings");
    // eLife's article-json: the figure is an asset in the body, its image
    // the largest web JPEG ResizeImages made, with that JPEG's pixel size.
    let body = serde_json::to_string(&article["body"]).unwrap();
    assert!(
        body.contains("https://cdn.example.org/articles/00353/elife-00353-fig1-v1-400w.jpg"),
        "{body}"
    );
    let figure = find_figure(&article["body"]).expect("a figure in the body");
    assert_eq!(
        figure["image"]["source"]["filename"],
        "elife-00353-fig1-v1-400w.jpg"
    );
    assert_eq!(figure["image"]["size"]["width"], 400);
    assert_eq!(figure["image"]["size"]["height"], renditions[0]["height"]);
    assert_eq!(
        article["pdf"],
        "https://cdn.example.org/articles/00353/elife-00353-v1.pdf"
    );
    let warnings = w.json(&w.expanded, "00353.1/run-1/article.warnings.json");
    assert_eq!(warnings, json!([]));

    let out = w.step("DepositAssets", &mut c).await;
    assert_eq!(out["assets_key"], "00353.1/run-1/assets.json");
    assert_eq!(out["asset_count"], 4);
    let assets = w.json(&w.expanded, "00353.1/run-1/assets.json");
    let assets = assets["assets"].as_array().unwrap();
    let keys: Vec<&str> = assets.iter().map(|a| a["key"].as_str().unwrap()).collect();
    assert_eq!(
        keys,
        vec![
            "articles/00353/elife-00353-fig1-v1-400w.jpg",
            "articles/00353/elife-00353-fig1-v1-100w.jpg",
            "articles/00353/elife-00353-v1.xml",
            "articles/00353/elife-00353-v1.pdf",
        ]
    );
    // Every URL the article JSON names now exists on the CDN.
    for a in assets {
        let o = w.store.object(&w.cdn, a["key"].as_str().unwrap()).unwrap();
        assert_eq!(
            o.meta.cache_control.as_deref(),
            Some("public, max-age=31536000")
        );
        assert_eq!(o.meta.content_type.as_deref(), a["content_type"].as_str());
    }
    let urls: Vec<&str> = assets.iter().map(|a| a["url"].as_str().unwrap()).collect();
    assert!(urls.contains(&article["pdf"].as_str().unwrap()));
    // Every CDN URL anywhere in the article (images, PDF, XML...) is a
    // deposited file.
    let mut cdn_urls = Vec::new();
    collect_cdn_urls(&article, &mut cdn_urls);
    assert!(
        cdn_urls.len() >= 3,
        "image, PDF and XML at least: {cdn_urls:?}"
    );
    for u in &cdn_urls {
        assert!(
            urls.contains(&u.as_str()),
            "{u} is not on the CDN: {urls:?}"
        );
    }

    let out = w.step("ArchiveArticle", &mut c).await;
    let key = out["archive_key"].as_str().unwrap();
    assert!(
        regex::Regex::new(r"^00353/[0-9]{14}-elife-00353-vor-v1-20121213000000\.zip$")
            .unwrap()
            .is_match(key),
        "{key}"
    );
    assert_eq!(w.store.object(&w.archive, key).unwrap().body.len(), 1097506);
    // A retried attempt reuses the archived copy.
    let again = w
        .activity("ArchiveArticle")
        .run(&ctx(c.clone()))
        .await
        .unwrap();
    assert_eq!(again["archive_key"], key);
    assert_eq!(w.store.keys(&w.archive).len(), 1);

    // A re-supplied package without a version now becomes version 2.
    let mut next = start(&w.incoming, "elife-00353-vor-r1.zip");
    let out = w.step("VersionLookup", &mut next).await;
    assert_eq!(out["version"], 2);
    assert_eq!(out["version_source"], "published");
}

#[tokio::test]
async fn a_package_without_version_gets_the_next_one_and_files_are_renamed() {
    let w = world();
    // Version 1 and 2 are already on the CDN.
    w.store.insert(
        &w.cdn,
        "articles/00353/elife-00353-v1.xml",
        b"<a/>".to_vec(),
    );
    w.store.insert(
        &w.cdn,
        "articles/00353/elife-00353-v2.pdf",
        b"%PDF".to_vec(),
    );
    let name = "elife-00353-vor-r1.zip";
    w.store.insert(&w.incoming, name, read_data(PACKAGE));
    let mut c = start(&w.incoming, name);
    let out = w.step("VersionLookup", &mut c).await;
    assert_eq!(out["version"], 3);
    assert_eq!(out["version_source"], "published");
    assert_eq!(out["revision"], 1);

    let out = w.step("ExpandArticle", &mut c).await;
    assert_eq!(out["expanded_folder"], "00353.3/run-1");
    let out = w.step("ApplyVersionNumber", &mut c).await;
    assert_eq!(out["renamed"], 3);
    assert_eq!(out["xml_key"], "00353.3/run-1/elife-00353-v3.xml");
    assert_eq!(out["pdf_key"], "00353.3/run-1/elife-00353-v3.pdf");
    assert_eq!(out["manifest_key"], "00353.3/run-1/manifest.json");
    let manifest = w.json(&w.expanded, "00353.3/run-1/manifest.json");
    let fig = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["role"] == "figure")
        .unwrap();
    assert_eq!(fig["key"], "00353.3/run-1/elife-00353-fig1-v3.tif");
    assert_eq!(fig["zip_path"], "elife-00353-fig1-v1.tif");
    assert_eq!(manifest["version"], 3);
    // A retried attempt (the rewritten manifest, the context of before)
    // ends the same way.
    let again = w
        .activity("ApplyVersionNumber")
        .run(&ctx(c.clone()))
        .await
        .unwrap();
    assert_eq!(again, out);
    assert_eq!(w.json(&w.expanded, "00353.3/run-1/manifest.json"), manifest);
    let xml = w
        .store
        .object(&w.expanded, "00353.3/run-1/elife-00353-v3.xml")
        .unwrap();
    let xml = String::from_utf8(xml.body.to_vec()).unwrap();
    assert!(
        xml.contains(r#"xlink:href="elife-00353-fig1-v3""#),
        "graphic reference rewritten"
    );
    assert!(
        xml.contains(r#"xlink:href="elife-00353-v3.pdf""#),
        "pdf reference rewritten"
    );
    assert!(w
        .store
        .object(&w.expanded, "00353.3/run-1/elife-00353-fig1-v3.tif")
        .is_some());

    w.step("ResizeImages", &mut c).await;
    w.step("ConvertJATS", &mut c).await;
    let json = w
        .store
        .object(&w.expanded, "00353.3/run-1/article.json")
        .unwrap();
    let article: Value = serde_json::from_slice(&json.body).unwrap();
    assert_eq!(article["version"], 3);
    let figure = find_figure(&article["body"]).expect("a figure");
    assert!(
        figure["image"]["source"]["filename"]
            .as_str()
            .unwrap()
            .starts_with("elife-00353-fig1-v3-"),
        "{figure}"
    );
}

#[tokio::test]
async fn silent_corrections_come_from_their_own_bucket_and_keep_the_published_version() {
    let w = world();
    w.store.insert(
        &w.cdn,
        "articles/00353/elife-00353-v1.xml",
        b"<a/>".to_vec(),
    );
    w.store.insert(
        &w.cdn,
        "articles/00353/elife-00353-v2.xml",
        b"<a/>".to_vec(),
    );
    let name = "elife-00353-vor-r2.zip";
    w.store.insert(&w.silent, name, read_data(PACKAGE));
    let mut c = start(&w.silent, name);
    let out = w.step("VersionLookup", &mut c).await;
    assert_eq!(
        out["version"], 2,
        "a correction of the highest published version"
    );
    let out = w.step("ExpandArticle", &mut c).await;
    assert_eq!(out["xml_key"], "00353.2/run-1/elife-00353-v1.xml");
    let out = w.step("ArchiveArticle", &mut c).await;
    assert!(out["archive_key"]
        .as_str()
        .unwrap()
        .ends_with("-elife-00353-vor-r2.zip"));
}

#[tokio::test]
async fn nothing_published_defaults_to_version_1() {
    let w = world();
    let mut c = start(&w.incoming, "elife-12345-poa-r1.zip");
    let out = w.step("VersionLookup", &mut c).await;
    assert_eq!(out["version"], 1);
    assert_eq!(out["version_source"], "default");
    assert_eq!(out["status"], "poa");
}

#[tokio::test]
async fn an_unreadable_name_is_permanent() {
    let w = world();
    let e = w
        .activity("VersionLookup")
        .run(&ctx(start(&w.incoming, "uploads/article final.zip")))
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(e.message.contains("\"article final.zip\""), "{}", e.message);
}

#[tokio::test]
async fn missing_context_key_is_permanent_and_named() {
    let w = world();
    let e = w
        .activity("ExpandArticle")
        .run(&ctx(json!({})))
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(e.message.contains("`bucket_name`"), "{}", e.message);
}

#[tokio::test]
async fn store_errors_map_to_retryable_or_permanent() {
    let w = world();
    w.store.insert(&w.incoming, PACKAGE, read_data(PACKAGE));
    let c = start(&w.incoming, PACKAGE);
    *w.store.fail_next.lock().unwrap() = Some(true);
    let e = w
        .activity("ExpandArticle")
        .run(&ctx(c.clone()))
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Retryable, "{}", e.message);
    assert!(e.message.contains("injected failure"), "{}", e.message);
    *w.store.fail_next.lock().unwrap() = Some(false);
    let e = w
        .activity("ExpandArticle")
        .run(&ctx(c.clone()))
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent, "{}", e.message);
    // The package is gone: permanent, naming bucket and key.
    let e = w
        .activity("ExpandArticle")
        .run(&ctx(start(&w.incoming, "elife-00001-vor-v1.zip")))
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(
        e.message.contains("elife-00001-vor-v1.zip"),
        "{}",
        e.message
    );
}

#[tokio::test]
async fn a_hostile_package_fails_permanently_naming_the_file() {
    let w = world();
    let name = "elife-00002-vor-v1.zip";
    w.store
        .insert(&w.incoming, name, b"PK\x03\x04 not really".to_vec());
    let e = w
        .activity("ExpandArticle")
        .run(&ctx(start(&w.incoming, name)))
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(
        e.message.starts_with("elife-00002-vor-v1.zip: corrupt zip"),
        "{}",
        e.message
    );
    assert!(
        w.store.keys(&w.expanded).is_empty(),
        "nothing half-expanded"
    );
}

#[tokio::test]
async fn malformed_xml_in_the_package_fails_convert_permanently() {
    let w = world();
    let key = "00009.1/run-1/elife-00009-v1.xml";
    w.store
        .insert(&w.expanded, key, b"<article><front></article>".to_vec());
    let manifest = json!({
        "format": 1, "package": "elife-00009-vor-v1.zip", "article_id": "00009", "version": 1,
        "folder": "00009.1/run-1",
        "files": [{"key": key, "name": "elife-00009-v1.xml", "zip_path": "elife-00009-v1.xml",
                   "role": "xml", "media_type": "application/xml", "size": 26}]
    });
    w.store.insert(
        &w.expanded,
        "00009.1/run-1/manifest.json",
        serde_json::to_vec(&manifest).unwrap(),
    );
    let e = w
        .activity("ConvertJATS")
        .run(&ctx(json!({
            "xml_key": key, "expanded_folder": "00009.1/run-1", "version": 1,
            "manifest_key": "00009.1/run-1/manifest.json"
        })))
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(
        e.message.starts_with("elife-00009-v1.xml: malformed XML"),
        "{}",
        e.message
    );
}

/// A package manifest naming one figure, stored under `f/`.
fn one_figure_manifest(w: &World) -> Value {
    let manifest = json!({
        "format": 1, "package": "elife-1-vor-v1.zip", "article_id": "1", "version": 1,
        "folder": "f",
        "files": [
            {"key": "f/elife-1-v1.xml", "name": "elife-1-v1.xml", "zip_path": "elife-1-v1.xml",
             "role": "xml", "media_type": "application/xml", "size": 4},
            {"key": "f/elife-1-fig1-v1.tif", "name": "elife-1-fig1-v1.tif",
             "zip_path": "figures/elife-1-fig1-v1.tif", "role": "figure",
             "media_type": "image/tiff", "size": 10}
        ]
    });
    w.store.insert(
        &w.expanded,
        "f/manifest.json",
        serde_json::to_vec(&manifest).unwrap(),
    );
    json!({"manifest_key": "f/manifest.json", "article_id": "1", "version": 1})
}

#[tokio::test]
async fn resize_stops_when_cancelled() {
    let w = world();
    let c = ctx(one_figure_manifest(&w));
    c.cancel.cancel();
    let e = w.activity("ResizeImages").run(&c).await.unwrap_err();
    assert_eq!(e.kind, FailureKind::Retryable);
    assert!(e.message.contains("cancelled"), "{}", e.message);
}

#[tokio::test]
async fn a_broken_figure_fails_permanently_naming_it() {
    let w = world();
    w.store.insert(
        &w.expanded,
        "f/elife-1-fig1-v1.tif",
        b"II*\x00garbage".to_vec(),
    );
    let e = w
        .activity("ResizeImages")
        .run(&ctx(one_figure_manifest(&w)))
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(
        e.message
            .starts_with("elife-1-fig1-v1.tif: image decode failed"),
        "{}",
        e.message
    );
}

#[test]
fn every_registered_activity_is_a_known_name() {
    let w = world();
    for name in w.registry.names() {
        assert!(pressbot_activities::is_known_activity(name), "{name}");
    }
    for name in [
        "VersionLookup",
        "ExpandArticle",
        "ApplyVersionNumber",
        "ConvertJATS",
        "ResizeImages",
        "DepositAssets",
        "ArchiveArticle",
    ] {
        assert!(w.registry.get(name).is_some(), "{name}");
    }
}

#[tokio::test]
async fn a_zip_bomb_is_refused_before_anything_is_stored() {
    use std::io::Write;
    let w = world();
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    z.start_file("elife-00004-v1.xml", opts).unwrap();
    z.write_all(b"<article/>").unwrap();
    z.start_file("elife-00004-fig1-v1.tif", opts).unwrap();
    z.write_all(&vec![0u8; 8 << 20]).unwrap();
    let name = "elife-00004-vor-v1.zip";
    w.store
        .insert(&w.incoming, name, z.finish().unwrap().into_inner());
    let e = w
        .activity("ExpandArticle")
        .run(&ctx(start(&w.incoming, name)))
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(e.message.contains("compression ratio"), "{}", e.message);
    assert!(
        w.store.keys(&w.expanded).is_empty(),
        "the XML before the bomb was not stored either"
    );
}

#[tokio::test]
async fn a_missing_or_malformed_manifest_is_permanent_and_named() {
    let w = world();
    for activity in ["ApplyVersionNumber", "ResizeImages", "DepositAssets"] {
        let e = w
            .activity(activity)
            .run(&ctx(
                json!({"manifest_key": "9.1/r/manifest.json", "article_id": "9", "version": 1}),
            ))
            .await
            .unwrap_err();
        assert_eq!(e.kind, FailureKind::Permanent, "{activity}: {}", e.message);
        assert!(
            e.message.contains("manifest 9.1/r/manifest.json: missing"),
            "{activity}: {}",
            e.message
        );
    }
    w.store.insert(
        &w.expanded,
        "9.1/r/manifest.json",
        b"{\"files\": [1]}".to_vec(),
    );
    let e = w
        .activity("ResizeImages")
        .run(&ctx(json!({"manifest_key": "9.1/r/manifest.json"})))
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(
        e.message
            .starts_with("manifest 9.1/r/manifest.json: malformed"),
        "{}",
        e.message
    );
    // Without the key in the context at all: the context key is named.
    let e = w
        .activity("DepositAssets")
        .run(&ctx(json!({"article_id": "9"})))
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Permanent);
    assert!(e.message.contains("`manifest_key`"), "{}", e.message);
    // A transient store failure stays retryable.
    one_figure_manifest(&w);
    *w.store.fail_next.lock().unwrap() = Some(true);
    let e = w
        .activity("ResizeImages")
        .run(&ctx(json!({"manifest_key": "f/manifest.json"})))
        .await
        .unwrap_err();
    assert_eq!(e.kind, FailureKind::Retryable, "{}", e.message);
}
