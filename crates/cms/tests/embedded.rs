//! The embedded CMS over real HTTP on 127.0.0.1.

use pressbot_cms::embedded::load_index;
use pressbot_cms::{CmsClient, EmbeddedCms, EmbeddedOptions, VersionState};
use pressbot_core::settings::{CmsAuth, CmsSettings};
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const ARTICLE: &str =
    r#"{"title":"The <b>eLife</b> paper","doi":"10.7554/eLife.00353","body":"v1"}"#;

fn any_port() -> std::net::SocketAddr {
    "127.0.0.1:0".parse().expect("addr")
}

fn client(cms: &EmbeddedCms) -> CmsClient {
    let s = CmsSettings {
        base_url: None,
        embedded: true,
        embedded_listen: cms.addr(),
        auth: CmsAuth::None,
        secret_env: None,
        secret_file: None,
        connect_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_secs(2),
        max_retry_after: Duration::from_secs(2),
        lease_ttl: std::time::Duration::from_secs(30),
        lease_wait: std::time::Duration::from_secs(240),
    };
    CmsClient::from_settings(&s, None)
        .expect("client")
        .with_retries(4, Duration::from_millis(10))
}

async fn start(dir: &Path, options: EmbeddedOptions) -> (EmbeddedCms, CancellationToken) {
    let stop = CancellationToken::new();
    let cms = EmbeddedCms::serve_with(dir, any_port(), stop.clone(), options)
        .await
        .expect("serve");
    (cms, stop)
}

fn post(
    http: &reqwest::Client,
    cms: &EmbeddedCms,
    path: &str,
    key: &str,
    body: &str,
) -> reqwest::RequestBuilder {
    http.post(format!("{}{path}", cms.base_url()))
        .header("Idempotency-Key", key)
        .body(body.to_owned())
}

#[tokio::test]
async fn ingests_one_at_a_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cms, _stop) = start(
        dir.path(),
        EmbeddedOptions {
            ingest_delay: Duration::from_millis(300),
            ..EmbeddedOptions::default()
        },
    )
    .await;
    let http = reqwest::Client::new();
    let a = post(&http, &cms, "/articles/00353/versions/1", "k-a", ARTICLE).send();
    let b = post(&http, &cms, "/articles/00354/versions/1", "k-b", ARTICLE).send();
    let (a, b) = tokio::join!(a, b);
    let (a, b) = (a.expect("a"), b.expect("b"));
    // Whichever came second was refused while the first was ingesting.
    let (won, lost) = if a.status() == 201 { (a, b) } else { (b, a) };
    assert_eq!(won.status(), 201);
    assert_eq!(lost.status(), 429);
    assert_eq!(
        lost.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    let index = cms.index().await;
    assert_eq!(index.ingests("00353") + index.ingests("00354"), 1);
}

#[tokio::test]
async fn status_says_ingesting_with_the_key_while_it_works() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cms, _stop) = start(
        dir.path(),
        EmbeddedOptions {
            ingest_delay: Duration::from_millis(300),
            ..EmbeddedOptions::default()
        },
    )
    .await;
    let http = reqwest::Client::new();
    let ingest = post(&http, &cms, "/articles/00353/versions/1", "k-a", ARTICLE).send();
    tokio::pin!(ingest);
    let url = format!("{}/articles/00353/versions/1", cms.base_url());
    let mut seen = Vec::new();
    let done = loop {
        tokio::select! {
            r = &mut ingest => break r.expect("ingest"),
            r = http.get(&url).send() => {
                let r = r.expect("status");
                if r.status() == 200 {
                    seen.push(r.json::<serde_json::Value>().await.expect("json"));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    assert_eq!(done.status(), 201);
    assert!(
        seen.iter()
            .any(|s| s["status"] == "ingesting" && s["idempotency_key"] == "k-a"),
        "{seen:?}"
    );
    let after: serde_json::Value = http
        .get(&url)
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(after["status"], "ingested");
}

#[tokio::test]
async fn idempotent_by_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cms, _stop) = start(dir.path(), EmbeddedOptions::default()).await;
    let http = reqwest::Client::new();
    for want in [201, 200] {
        let r = post(&http, &cms, "/articles/00353/versions/1", "k-a", ARTICLE)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), want);
    }
    assert_eq!(cms.index().await.ingests("00353"), 1);
    // Without a key the request is refused: the contract requires one.
    let r = http
        .post(format!("{}/articles/00353/versions/2", cms.base_url()))
        .body(ARTICLE)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    assert!(r.text().await.expect("body").contains("Idempotency-Key"));
}

#[tokio::test]
async fn bad_input_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cms, _stop) = start(dir.path(), EmbeddedOptions::default()).await;
    let c = client(&cms);
    let e = c
        .ingest("00353", 1, "run-a", b"{not json")
        .await
        .expect_err("bad JSON");
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("not JSON"), "{e}");
    let e = c
        .ingest("00353", 1, "run-a", b"[1, 2]")
        .await
        .expect_err("not an object");
    assert!(e.to_string().contains("422"), "{e}");
    for id in ["..", "a/b", "../../etc"] {
        let e = c
            .ingest(id, 1, "run-a", ARTICLE.as_bytes())
            .await
            .expect_err("bad id");
        assert!(!e.is_retryable(), "{e}");
        assert!(e.to_string().contains("article id"), "{e}");
    }
    assert!(!dir.path().join("v1.json").exists());
}

#[tokio::test]
async fn client_flow_survives_restart_and_lists_published_articles() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cms, stop) = start(dir.path(), EmbeddedOptions::default()).await;
    let c = client(&cms);
    let i = c
        .ingest("00353", 1, "run-a", ARTICLE.as_bytes())
        .await
        .expect("ingest");
    assert!(!i.already_there);
    c.ingest("00354", 1, "run-b", br#"{"title":"Unpublished"}"#)
        .await
        .expect("ingest");
    c.publish("00353", 1, "run-a").await.expect("publish");
    assert!(
        c.publish("00353", 1, "run-a")
            .await
            .expect("again")
            .already_published
    );
    stop.cancel();
    cms.join().await.expect("stopped cleanly");

    // Another process can read what it holds.
    let index = load_index(dir.path()).expect("index");
    assert_eq!(index.ingests("00353"), 1);
    assert_eq!(index.publishes("00353"), 1);
    assert!(dir.path().join("articles/00353/v1.json").is_file());

    let (cms, _stop) = start(dir.path(), EmbeddedOptions::default()).await;
    let c = client(&cms);
    let s = c.status("00353", 1).await.expect("status").expect("known");
    assert_eq!(s.status, VersionState::Published);
    // A retried attempt of the same run after the restart posts nothing.
    assert!(
        c.ingest("00353", 1, "run-a", ARTICLE.as_bytes())
            .await
            .expect("ingest")
            .already_there
    );
    assert_eq!(cms.index().await.ingests("00353"), 1);

    let http = reqwest::Client::new();
    let html = http
        .get(cms.base_url())
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("html");
    assert!(
        // article-json titles are HTML: rendered as such (sanitized).
        html.contains("The <b>eLife</b> paper"),
        "{html}"
    );
    assert!(html.contains("10.7554/eLife.00353"), "{html}");
    assert!(html.contains("/articles/00353/versions/1/json"), "{html}");
    assert!(html.contains("href=\"/articles/00353/v1\""), "{html}");
    assert!(
        !html.contains("Unpublished"),
        "only published articles: {html}"
    );
    let json: serde_json::Value = http
        .get(format!("{}/articles/00353/versions/1/json", cms.base_url()))
        .send()
        .await
        .expect("json")
        .json()
        .await
        .expect("json body");
    assert_eq!(json["doi"], "10.7554/eLife.00353");
}

#[tokio::test]
async fn silent_correction_updates_a_published_version_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cms, _stop) = start(dir.path(), EmbeddedOptions::default()).await;
    let c = client(&cms);
    c.ingest("00353", 1, "run-a", ARTICLE.as_bytes())
        .await
        .expect("ingest");
    c.publish("00353", 1, "run-a").await.expect("publish");

    // A new run re-ingesting a published version is refused...
    let e = c
        .ingest("00353", 1, "run-b", ARTICLE.as_bytes())
        .await
        .expect_err("already published");
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("409"), "{e}");

    // ...but a silent correction goes through without a new publication.
    let corrected = r#"{"title":"The eLife paper","doi":"10.7554/eLife.00353","body":"fixed"}"#;
    let done = c
        .silent_correction("00353", 1, "run-c", corrected.as_bytes())
        .await
        .expect("silent correction");
    assert_eq!(done.state, VersionState::Published);
    let index = cms.index().await;
    let r = index.version("00353", 1).expect("record");
    assert_eq!((r.ingests, r.publishes, r.silent_corrections), (1, 1, 1));
    assert_eq!(r.status, "published");
    let stored =
        std::fs::read_to_string(dir.path().join("articles/00353/v1.json")).expect("stored");
    assert!(stored.contains("fixed"));

    // Correcting a version that does not exist is refused.
    let e = c
        .silent_correction("00353", 7, "run-d", corrected.as_bytes())
        .await
        .expect_err("nothing to correct");
    assert!(e.to_string().contains("404"), "{e}");
}

#[tokio::test]
async fn free_serve_function_binds_and_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let stop = CancellationToken::new();
    let (addr, task) = pressbot_cms::embedded::serve(dir.path(), any_port(), stop.clone())
        .await
        .expect("serve");
    assert_ne!(addr.port(), 0);
    let r = reqwest::get(format!("http://{addr}/__lbheartbeat__"))
        .await
        .expect("heartbeat");
    assert_eq!(r.status(), 200);
    stop.cancel();
    task.await.expect("joined").expect("stopped cleanly");
}

#[tokio::test]
async fn article_pages_are_served_per_version() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cms, _stop) = start(dir.path(), EmbeddedOptions::default()).await;
    let http = reqwest::Client::new();
    let article = r#"{"title":"A <i>page</i><script>x</script>","body":[{"type":"section","title":"Intro","content":[{"type":"paragraph","text":"Hi"}]}],"abstract":7}"#;
    let r = post(&http, &cms, "/articles/00353/versions/1", "k-p", article)
        .send()
        .await
        .expect("ingest");
    assert_eq!(r.status(), 201);
    let page = |path: &str| {
        let url = format!("{}{path}", cms.base_url());
        let http = http.clone();
        async move {
            let r = http.get(url).send().await.expect("get");
            let status = r.status().as_u16();
            let ct = r
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            (status, ct, r.text().await.expect("text"))
        }
    };
    // Ingested, not yet published: a preview, absent from the index.
    let (status, ct, html) = page("/articles/00353/v1").await;
    assert_eq!(status, 200, "{html}");
    assert!(ct.starts_with("text/html"), "{ct}");
    assert!(
        html.contains("<h1 class=\"title\">A <i>page</i></h1>"),
        "{html}"
    );
    assert!(
        html.contains("<h2 class=\"section-title\">Intro</h2>"),
        "{html}"
    );
    assert!(html.contains("Preview"), "{html}");
    assert!(!html.contains("<script>x"), "{html}");
    let (_, _, index) = page("/").await;
    assert!(!index.contains("/articles/00353/v1"), "{index}");
    // Published: in the index, no preview notice.
    let r = http
        .post(format!(
            "{}/articles/00353/versions/1/publish",
            cms.base_url()
        ))
        .send()
        .await
        .expect("publish");
    assert_eq!(r.status(), 200);
    let (_, _, html) = page("/articles/00353/v1").await;
    assert!(!html.contains("Preview"), "{html}");
    let (_, _, index) = page("/").await;
    assert!(index.contains("href=\"/articles/00353/v1\""), "{index}");
    // Unknown versions, bad paths.
    for (path, code) in [
        ("/articles/00353/v2", 404),
        ("/articles/00353/1", 404),
        ("/articles/00353/v0", 400),
        ("/articles/00353/vx", 400),
        ("/articles/..%2Fx/v1", 400),
    ] {
        let (status, _, body) = page(path).await;
        assert_eq!(status, code, "{path}: {body}");
    }
}
