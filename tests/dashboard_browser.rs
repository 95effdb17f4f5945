//! The operator's view, in a real browser: `pressbot up` (the binary, kept
//! running like a server) on a temporary data dir and free loopback ports
//! serves its dashboard; headless Chromium opens it before anything runs;
//! the test then puts the sample package into the incoming bucket with
//! `pressbot put`, and, without reloading the page, waits until the page
//! lists that workflow as completed and article 00353 v1 as published.
//! The event-monitor queue the dashboard consumes must then drain (before
//! the dashboard it only grew), with nothing dead-lettered, and the page
//! must read without JavaScript too (the same facts in the served HTML).
//! A screenshot lands in `target/browser/dashboard.png`.
//!
//! Chromium missing is a failure, never a skip: `bash scripts/test.sh`
//! installs Debian's `chromium`.

#[path = "support/cdp.rs"]
mod cdp;
mod support;

use cdp::{screenshot_dir, Browser};
use pressbot_core::backend::{Backend, CloseStatus};
use serde_json::Value;
use std::time::{Duration, Instant};
use support::up::{free_port, serve_on_free_ports, Up};
use support::{repo_root, Harness};

const SAMPLE: &str = "tests/fixtures/articles/elife-00353-vor-v1-20121213000000.zip";
const EVENT_QUEUE: &str = "pressbot-dev-event-monitor-queue";

/// The dashboard's facts, read from the live DOM: the marker set at load
/// (gone if the page reloaded), the workflow rows and the article rows.
const READ_PAGE: &str = r#"
(() => ({
  marker: window.__dashboardTest || null,
  workflows: [...document.querySelectorAll('tr[data-workflow]')]
    .map(r => ({id: r.dataset.workflow, status: r.dataset.status})),
  articles: [...document.querySelectorAll('tr[data-article]')]
    .map(r => ({id: r.dataset.article, version: r.dataset.version, publication: r.dataset.publication,
                link: (r.querySelector('a[href]') || {}).href || null})),
  queues: document.querySelectorAll('tr[data-queue]').length,
}))()
"#;

async fn depth(backend: &Backend, queue: &str) -> u64 {
    backend
        .queues
        .depth(queue)
        .await
        .map(|d| d.visible + d.in_flight + d.delayed)
        .unwrap_or(u64::MAX)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_shows_a_workflow_complete_without_a_reload() {
    let browser = match Browser::launch(1200, 1400).await {
        Ok(b) => b,
        Err(e) => panic!("{e}"),
    };

    let mut h = Harness::new();
    let cms_base = serve_on_free_ports(&mut h);
    let dashboard_port = free_port();
    h.set(
        "PRESSBOT__DASHBOARD__LISTEN",
        &format!("127.0.0.1:{dashboard_port}"),
    );
    h.set("PRESSBOT__DASHBOARD__REFRESH", "300ms");
    let base = format!("http://127.0.0.1:{dashboard_port}");

    let mut up = Up::start(&h, std::iter::empty::<&str>());

    // The page is up, and `up` said where at start.
    let http = reqwest::Client::new();
    let start = Instant::now();
    loop {
        up.check_alive();
        if http
            .get(format!("{base}/__lbheartbeat__"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "dashboard not serving within 60s:\n{}",
            up.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let printed = std::fs::read_to_string(&up.out).unwrap_or_default();
    assert!(
        printed.contains(&format!("dashboard: {base}/")),
        "`pressbot up` did not print the dashboard's URL:\n{}",
        up.log()
    );

    // Open the page before anything runs; mark the document, so a reload
    // (which would drop the mark) fails the test.
    let tab = browser.new_tab(1200, 1400).await.expect("a tab");
    browser
        .navigate(&tab, &format!("{base}/"))
        .await
        .expect("load the dashboard");
    browser
        .eval(&tab, "window.__dashboardTest = 'same document'")
        .await
        .expect("mark the page");
    let first = browser.eval(&tab, READ_PAGE).await.expect("read the page");
    assert_eq!(first["workflows"], serde_json::json!([]), "{first}");
    assert_eq!(
        first["queues"],
        serde_json::json!(6),
        "queues and their DLQs: {first}"
    );

    // The test starts a workflow: the sample package into the incoming bucket.
    let sample = repo_root().join(SAMPLE);
    h.pressbot_ok(&["put", sample.to_str().expect("path")]);

    // Without a reload, the page shows it completed and the article published.
    let start = Instant::now();
    let seen = loop {
        up.check_alive();
        let seen = browser.eval(&tab, READ_PAGE).await.expect("read the page");
        let completed = seen["workflows"].as_array().into_iter().flatten().any(|w| {
            w["status"] == "completed"
                && w["id"]
                    .as_str()
                    .is_some_and(|i| i.starts_with("IngestArticleZip-elife-00353"))
        });
        let published =
            seen["articles"].as_array().into_iter().flatten().any(|a| {
                a["id"] == "00353" && a["version"] == "1" && a["publication"] == "published"
            });
        if completed && published {
            break seen;
        }
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "the page did not show the workflow completed and 00353 v1 published within 3 minutes: {seen}\n{}",
            up.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    eprintln!("dashboard: {seen}");
    assert_eq!(seen["marker"], "same document", "the page reloaded: {seen}");
    let _ = browser
        .screenshot(&tab, &screenshot_dir().join("dashboard.png"))
        .await;

    // The workflow the page shows is the one that ran.
    let backend = h.backend();
    let closed = support::closed(&backend).await;
    assert_eq!(closed.len(), 1, "{closed:?}");
    assert_eq!(closed[0].close_status, Some(CloseStatus::Completed));
    let id = closed[0].execution.workflow_id.to_string();
    assert!(
        seen["workflows"]
            .as_array()
            .expect("rows")
            .iter()
            .any(|w| w["id"] == id.as_str() && w["status"] == "completed"),
        "{id} not on the page: {seen}"
    );
    // The article links to its page on the embedded CMS.
    let link = seen["articles"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|a| a["id"] == "00353" && a["version"] == "1")
        .and_then(|a| a["link"].as_str())
        .map(str::to_owned);
    assert_eq!(
        link.as_deref(),
        Some(format!("{cms_base}/articles/00353/v1").as_str())
    );

    // The event-monitor queue drains: the dashboard consumed every message,
    // dead-lettered none.
    let start = Instant::now();
    while depth(&backend, EVENT_QUEUE).await != 0 {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the event-monitor queue did not drain: {} left\n{}",
            depth(&backend, EVENT_QUEUE).await,
            up.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(depth(&backend, &format!("{EVENT_QUEUE}-dlq")).await, 0);

    // Readable without JavaScript: the served HTML holds the same facts,
    // and /api/state the same in JSON.
    let html = http
        .get(format!("{base}/"))
        .send()
        .await
        .expect("GET /")
        .text()
        .await
        .expect("HTML");
    assert!(
        html.contains(&format!(r#"data-workflow="{id}" data-status="completed""#)),
        "{html}"
    );
    assert!(
        html.contains(r#"data-article="00353" data-version="1" data-publication="published""#),
        "{html}"
    );
    assert!(
        html.contains(r#"<noscript><meta http-equiv="refresh""#),
        "{html}"
    );
    let state: Value = http
        .get(format!("{base}/api/state"))
        .send()
        .await
        .expect("GET /api/state")
        .json()
        .await
        .expect("JSON");
    let steps = state["closed"][0]["steps"].as_array().map_or(0, Vec::len);
    assert!(steps > 3, "a step timeline from history: {state}");

    let status = up.stop();
    assert!(
        status.success(),
        "pressbot up exited with {status}:\n{}",
        up.log()
    );
}
