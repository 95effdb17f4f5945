//! The article pages in a real browser: the embedded CMS on a loopback port
//! receives eLife's api-raml samples through its HTTP API, and headless
//! Chromium (driven over the DevTools protocol) loads each page: section
//! headings, figures with images that really load, references, abstract.
//! A screenshot of each page lands in `target/browser/<id>.png`.
//!
//! Chromium missing is a failure, never a skip: `bash scripts/test.sh`
//! installs Debian's `chromium`.

mod support;

use axum::routing::get;
use pressbot_cms::EmbeddedCms;
use serde_json::{json, Value};
use std::net::SocketAddr;
use support::cdp::{screenshot_dir, test_png, Browser};
use tokio_util::sync::CancellationToken;

const SAMPLES: &[&str] = &["article-vor-v8-complete.json", "article-vor-v8-00569.json"];

/// Serve one generated PNG at `/img/<anything>` so the pages' figures load
/// without the network.
async fn serve_images(stop: CancellationToken) -> SocketAddr {
    let png = axum::body::Bytes::from(test_png(960, 600));
    let app = axum::Router::new().route(
        "/img/{name}",
        get(move || {
            let png = png.clone();
            async move { ([(axum::http::header::CONTENT_TYPE, "image/png")], png) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind the image server");
    let addr = listener.local_addr().expect("image server address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
    });
    addr
}

/// Point every image of the article (`{source: {mediaType: image/*, uri}}`)
/// at the test's image server; returns how many were rewritten.
fn localise_images(v: &mut Value, base: &str, n: &mut usize) {
    match v {
        Value::Object(map) => {
            let is_image = map
                .get("source")
                .and_then(|s| s.get("mediaType"))
                .and_then(Value::as_str)
                .is_some_and(|m| m.starts_with("image/"));
            if is_image {
                *n += 1;
                let url = format!("{base}/img/{n}.png");
                map.insert("uri".into(), json!(url));
                if let Some(source) = map.get_mut("source") {
                    source["uri"] = json!(url);
                }
            }
            for child in map.values_mut() {
                localise_images(child, base, n);
            }
        }
        Value::Array(items) => {
            for child in items {
                localise_images(child, base, n);
            }
        }
        _ => {}
    }
}

fn sample(name: &str) -> Value {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Ingest then publish through the CMS's HTTP API, as the bot does.
async fn publish(
    http: &reqwest::Client,
    cms: &EmbeddedCms,
    id: &str,
    version: u64,
    article: &Value,
) {
    let url = format!("{}/articles/{id}/versions/{version}", cms.base_url());
    let r = http
        .post(&url)
        .header("Idempotency-Key", format!("browser-{id}-v{version}"))
        .json(article)
        .send()
        .await
        .expect("ingest");
    assert_eq!(
        r.status(),
        201,
        "ingest {id}: {}",
        r.text().await.unwrap_or_default()
    );
    let r = http
        .post(format!("{url}/publish"))
        .send()
        .await
        .expect("publish");
    assert_eq!(r.status(), 200, "publish {id}");
}

/// The body's top-level section titles as text (the model's titles are
/// HTML: the browser's own parser turns them into text for comparison).
const CHECK_PAGE: &str = r#"
(() => {
  const text = s => new DOMParser().parseFromString(s, 'text/html').body.textContent.trim();
  const imgs = [...document.querySelectorAll('figure img')];
  const abstract = document.querySelector('#abstract');
  return {
    expected: EXPECTED.map(text),
    headings: [...document.querySelectorAll('.article-body > section > h2')].map(h => h.textContent.trim()),
    images: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
    references: document.querySelectorAll('#references > ol.references > li').length,
    abstract: abstract ? abstract.textContent.trim().length : 0,
    equations: document.querySelectorAll('math').length,
    scripts: document.querySelectorAll('script').length,
    title: document.title,
  };
})()
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn article_pages_render_in_chromium() {
    let browser = match Browser::launch(1200, 1600).await {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    };
    let stop = CancellationToken::new();
    let _stop_on_drop = stop.clone().drop_guard();
    let images = serve_images(stop.clone()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let cms = EmbeddedCms::serve(
        dir.path(),
        "127.0.0.1:0".parse().expect("addr"),
        stop.clone(),
    )
    .await
    .expect("serve the embedded CMS");
    let http = reqwest::Client::new();
    let tab = browser.new_tab(1200, 1600).await.expect("a tab");
    let mut published = Vec::new();
    for name in SAMPLES {
        let mut article = sample(name);
        let mut rewritten = 0;
        localise_images(&mut article, &format!("http://{images}"), &mut rewritten);
        assert!(rewritten > 0, "{name}: no image to rewrite");
        let id = article["id"].as_str().expect("id").to_owned();
        let version = article["version"].as_u64().expect("version");
        publish(&http, &cms, &id, version, &article).await;

        let url = format!("{}/articles/{id}/v{version}", cms.base_url());
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
        let script = CHECK_PAGE.replace("EXPECTED", &Value::from(titles).to_string());
        let seen = browser.eval(&tab, &script).await.expect("inspect the page");
        assert_eq!(
            seen["headings"], seen["expected"],
            "{name}: section headings"
        );
        assert!(
            seen["images"].as_u64().unwrap_or(0) > 0,
            "{name}: no figure image: {seen}"
        );
        assert_eq!(
            seen["broken"],
            json!([]),
            "{name}: images that did not load"
        );
        let refs = article["references"].as_array().map_or(0, Vec::len);
        assert_eq!(seen["references"], json!(refs), "{name}: references");
        assert!(
            seen["abstract"].as_u64().unwrap_or(0) > 100,
            "{name}: abstract: {seen}"
        );
        assert_eq!(
            seen["scripts"],
            json!(0),
            "{name}: the page needs no script"
        );
        let shot = screenshot_dir().join(format!("{id}.png"));
        browser.screenshot(&tab, &shot).await.expect("screenshot");
        // And the parts a reader scrolls to, each at the top of a screen.
        for (part, selector) in [
            ("figure", ".article-body figure"),
            ("table", ".article-body table"),
            ("equation", ".article-body .equation"),
            ("references", "#references"),
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
        eprintln!("{name}: {seen} → {}", shot.display());
        published.push((id, version));
    }

    // The index links every published version's page.
    browser
        .navigate(&tab, &format!("{}/", cms.base_url()))
        .await
        .expect("load the index");
    let links = browser
        .eval(
            &tab,
            "[...document.querySelectorAll('.listing a.title')].map(a => a.getAttribute('href'))",
        )
        .await
        .expect("index links");
    for (id, version) in &published {
        let href = format!("/articles/{id}/v{version}");
        assert!(
            links
                .as_array()
                .is_some_and(|l| l.iter().any(|h| h == href.as_str())),
            "{href} not linked from the index: {links}"
        );
    }
    browser
        .screenshot(&tab, &screenshot_dir().join("index.png"))
        .await
        .expect("screenshot of the index");
}
