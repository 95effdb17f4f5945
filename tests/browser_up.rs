//! The reader's journey, end to end in a real browser: `pressbot up` (the
//! binary, as the README runs it, but kept running like a server) on a
//! temporary data dir and free loopback ports ingests the sample package
//! and a package built from the big research-article fixture
//! (`elife-00007-v1.xml`: figures, tables, videos, 62 references,
//! decision letter and author response). Once both are published, headless
//! Chromium loads each version's page from the embedded CMS and the DOM is
//! checked against the article-json the CMS serves for that version:
//! top-level section headings, every figure image really loaded (from the
//! CDN that `up` serves at `/cdn/`), the reference count, the abstract,
//! and the peer review. Screenshots land in `target/browser/<id>*.png`
//! (under `CARGO_TARGET_DIR` when set).
//!
//! Chromium missing is a failure, never a skip: `bash scripts/test.sh`
//! installs Debian's `chromium`.

#[path = "support/cdp.rs"]
mod cdp;
mod e2e_pipeline_cases;
mod support;

use cdp::{screenshot_dir, Browser};
use e2e_pipeline_cases::{package_from_jats, SAMPLE};
use serde_json::{json, Value};
use std::ffi::OsStr;
use std::time::{Duration, Instant};
use support::up::{serve_on_free_ports, Up};
use support::{repo_root, Harness};

/// The articles the test publishes and reads: (id, version).
const ARTICLES: &[(&str, u32)] = &[("00353", 1), ("00007", 1)];

/// How many images the article-json has in its body (image blocks and
/// figure assets of type `image`, supplements included): each must be a
/// `<figure> img` on the page.
fn body_images(v: &Value) -> usize {
    match v {
        Value::Object(map) => {
            let own =
                usize::from(map.get("type") == Some(&json!("image")) && map.contains_key("image"));
            own + map.values().map(body_images).sum::<usize>()
        }
        Value::Array(items) => items.iter().map(body_images).sum(),
        _ => 0,
    }
}

/// The DOM facts the test checks, gathered in one evaluation. `EXPECTED`
/// is replaced by the article-json's top-level body section titles (HTML:
/// the browser's own parser turns them into text for comparison).
const CHECK_PAGE: &str = r##"
(() => {
  const text = s => new DOMParser().parseFromString(s, 'text/html').body.textContent.replace(/\s+/g, ' ').trim();
  const imgs = [...document.querySelectorAll('figure img')];
  const len = sel => { const e = document.querySelector(sel); return e ? e.textContent.trim().length : 0; };
  return {
    expected: EXPECTED.map(text),
    headings: [...document.querySelectorAll('.article-body > section > h2')].map(h => h.textContent.replace(/\s+/g, ' ').trim()),
    images: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
    references: document.querySelectorAll('#references > ol.references > li').length,
    abstract: len('#abstract'),
    decision: len('#decision-letter'),
    reviewers: document.querySelectorAll('#reviewers li').length,
    keywords: len('.keywords'),
    authorInformation: document.querySelectorAll('#author-information dt').length,
    response: len('#author-response'),
    videos: document.querySelectorAll('figure.video').length,
    downloads: document.querySelectorAll('figure.video .downloads a[href]').length,
    deadPlayers: [...document.querySelectorAll('video')]
      .filter(v => ![...v.querySelectorAll('source')].some(s => v.canPlayType(s.type || ''))).length,
    deadAnchors: [...new Set([...document.querySelectorAll('a[href^="#"]')]
      .map(a => decodeURIComponent(a.getAttribute('href').slice(1)))
      .filter(id => !document.getElementById(id)))],
    anchors: document.querySelectorAll('a[href^="#"]').length,
    title: document.title,
  };
})()
"##;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pressbot_up_serves_readable_pages_in_chromium() {
    // The browser first: without it there is nothing to test, and the
    // message says how to install it.
    let browser = match Browser::launch(1200, 1600).await {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    };

    let mut h = Harness::new();
    let base = serve_on_free_ports(&mut h);

    let packages = tempfile::tempdir().expect("packages dir");
    let (name, zip) = package_from_jats("elife-00007-v1.xml", "00007", 1, false);
    let big = packages.path().join(name);
    std::fs::write(&big, zip).expect("write the 00007 package");
    let sample = repo_root().join(SAMPLE);
    let mut up = Up::start(
        &h,
        [OsStr::new("--ingest"), sample.as_os_str(), big.as_os_str()],
    );

    // Both versions published (the CMS's own index, read from its files).
    let cms_dir = h.data_dir().join("cms");
    let start = Instant::now();
    loop {
        up.check_alive();
        let index = pressbot_cms::embedded::load_index(&cms_dir).unwrap_or_default();
        let published = ARTICLES.iter().all(|(id, v)| {
            index
                .version(id, *v)
                .is_some_and(|r| r.status == "published")
        });
        if published {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "not published within 5 minutes: {index:?}\n{}",
            up.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    let http = reqwest::Client::new();
    let tab = browser.new_tab(1200, 1600).await.expect("a tab");
    for (id, version) in ARTICLES {
        let json_url = format!("{base}/articles/{id}/versions/{version}/json");
        let article: Value = http
            .get(&json_url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .expect("the article's JSON")
            .json()
            .await
            .expect("JSON");
        // Kept beside the screenshots: what the page was rendered from.
        std::fs::create_dir_all(screenshot_dir()).expect("screenshot dir");
        std::fs::write(
            screenshot_dir().join(format!("{id}.json")),
            serde_json::to_vec_pretty(&article).expect("JSON"),
        )
        .expect("write the article JSON");
        let url = format!("{base}/articles/{id}/v{version}");
        browser
            .navigate(&tab, &url)
            .await
            .expect("load the article page");
        let titles: Vec<Value> = article["body"]
            .as_array()
            .expect("body")
            .iter()
            .filter(|b| b["type"] == "section")
            .map(|b| b["title"].clone())
            .collect();
        assert!(!titles.is_empty(), "{id}: no body section in {json_url}");
        let script = CHECK_PAGE.replace("EXPECTED", &Value::from(titles).to_string());
        let seen = browser.eval(&tab, &script).await.expect("inspect the page");
        eprintln!("{id}: {seen}");

        assert_eq!(seen["headings"], seen["expected"], "{id}: section headings");
        let images = body_images(&article["body"]);
        assert!(images > 0, "{id}: no image in the body of {json_url}");
        assert_eq!(seen["images"], json!(images), "{id}: figure images");
        assert_eq!(
            seen["broken"],
            json!([]),
            "{id}: figure images that did not load from the CDN"
        );
        let refs = article["references"].as_array().map_or(0, Vec::len);
        assert_eq!(seen["references"], json!(refs), "{id}: references");
        assert!(
            seen["abstract"].as_u64().unwrap_or(0) > 100,
            "{id}: abstract: {seen}"
        );
        // Citations and cross-references land on something on the page.
        assert_eq!(
            seen["deadAnchors"],
            json!([]),
            "{id}: links to nothing on the page"
        );
        // A player only where Chromium can play a source; every video
        // downloadable from the page.
        assert_eq!(
            seen["deadPlayers"],
            json!(0),
            "{id}: unplayable <video>: {seen}"
        );
        assert!(
            seen["downloads"].as_u64() >= seen["videos"].as_u64(),
            "{id}: videos without a download link: {seen}"
        );
        if *id == "00353" {
            assert_eq!(
                seen["title"],
                json!("Living Science: A good life"),
                "{id}: <title>"
            );
        }
        if *id == "00007" {
            assert_eq!(seen["videos"], json!(4), "{id}: the four videos: {seen}");
            let reviewers = article["reviewers"].as_array().map_or(0, Vec::len);
            assert!(reviewers > 0, "{id}: the JATS names a reviewing editor");
            assert_eq!(seen["reviewers"], json!(reviewers), "{id}: reviewers");
            assert!(
                seen["keywords"].as_u64() > Some(20),
                "{id}: keywords: {seen}"
            );
            // Every `<ref>` of the JATS made it into the JSON (62 in this
            // fixture), so the page count above is the source's count too.
            let xml = std::fs::read_to_string(e2e_pipeline_cases::jats_path("elife-00007-v1.xml"))
                .expect("read the JATS fixture");
            assert_eq!(
                refs,
                xml.matches("<ref id=").count(),
                "{id}: references in the JSON"
            );
            for part in ["decision", "response"] {
                assert!(
                    seen[part].as_u64().unwrap_or(0) > 500,
                    "{id}: {part}: {seen}"
                );
            }
        }

        let shot = screenshot_dir().join(format!("{id}.png"));
        browser.screenshot(&tab, &shot).await.expect("screenshot");
        // The parts a reader scrolls to, each at the top of a screen.
        for (part, selector) in [
            ("body", ".article-body"),
            ("figure", ".article-body figure.image"),
            ("table", ".article-body figure.table"),
            ("video", ".article-body figure.video"),
            ("references", "#references"),
            ("decision-letter", "#decision-letter"),
            ("author-response", "#author-response"),
            ("back", "#acknowledgements"),
            ("author-information", "#author-information"),
            ("end", "footer.copyright"),
        ] {
            let found = browser
                .eval(
                    &tab,
                    &format!(
                        "(e => e ? (e.scrollIntoView(), true) : false)(document.querySelector('{selector}'))"
                    ),
                )
                .await
                .expect("scroll");
            if found == json!(true) {
                let part_shot = screenshot_dir().join(format!("{id}-{part}.png"));
                browser
                    .screenshot(&tab, &part_shot)
                    .await
                    .expect("screenshot");
            }
        }
        eprintln!("{id}: screenshots in {}", screenshot_dir().display());
    }

    // The CDN as `up` serves it: the PDF the header links, with the type
    // it was deposited with; nothing outside the bucket, nothing made up.
    let article: Value = http
        .get(format!("{base}/articles/00007/versions/1/json"))
        .send()
        .await
        .expect("JSON")
        .json()
        .await
        .expect("JSON");
    let pdf = article["pdf"].as_str().expect("a PDF link");
    assert!(pdf.starts_with(&format!("{base}/cdn/")), "{pdf}");
    let r = http.get(pdf).send().await.expect("GET the PDF");
    assert_eq!(r.status(), 200, "{pdf}");
    assert_eq!(
        r.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/pdf"),
        "{pdf}"
    );
    for missing in [
        "/cdn/articles/00007/nothing.jpg",
        "/cdn/articles//x",
        "/cdn/%2e%2e/index.json",
    ] {
        let r = http
            .get(format!("{base}{missing}"))
            .send()
            .await
            .expect("GET");
        assert_eq!(r.status(), 404, "{missing}");
    }

    let status = up.stop();
    assert!(
        status.success(),
        "pressbot up on SIGTERM: {status}\n{}",
        up.log()
    );
}
