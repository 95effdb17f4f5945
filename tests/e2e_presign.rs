//! `pressbot presign` on the embedded backend, as an operator runs it: the
//! URL it prints lives `activities.presign_expiry` (15m) unless `--expires`
//! says otherwise, verifies against the data dir's key, and, with
//! `pressbot up` serving objects, is fetchable over HTTP.

mod support;

use pressbot_core::time::Timestamp;
use std::process::Stdio;
use std::time::Duration;
use support::{bin, wait_for, Harness};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn expires_param(url: &str) -> i64 {
    url.split_once('?')
        .expect("query")
        .1
        .split('&')
        .find_map(|p| p.strip_prefix("expires="))
        .expect("expires=")
        .parse()
        .expect("unix seconds")
}

fn local(h: &Harness) -> pressbot_local::LocalBackend {
    pressbot_local::LocalBackend::open(
        &h.data_dir(),
        pressbot_local::LocalOptions {
            domain: "pressbot-dev-publishing".into(),
            ..Default::default()
        },
    )
    .expect("open data dir")
}

fn put_pdf(h: &Harness) {
    let pdf = h.path().join("elife-00353.pdf");
    std::fs::write(&pdf, b"%PDF-1.7 test").expect("write");
    h.pressbot_ok(&["put", pdf.to_str().expect("path"), "--bucket", "cdn"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn presign_prints_a_signed_url_living_the_configured_time() {
    let h = Harness::new();
    h.pressbot_ok(&["create-resources"]);
    put_pdf(&h);

    let before = Timestamp::now().0 / 1000;
    let out = h.pressbot(&["presign", "cdn", "elife-00353.pdf"]);
    assert!(out.status.success(), "{out:?}");
    let url = String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(url.starts_with("file://"), "no object_url set: {url}");
    assert!(url.contains("&signature="), "{url}");
    assert!(stderr.contains("valid for 15m"), "{stderr}");
    let lives = expires_param(&url) - before;
    assert!(
        (900..=902).contains(&lives),
        "default 15m from settings: {lives} s"
    );
    let got = local(&h).get_presigned(&url).await.expect("verifies");
    assert_eq!(&got.body[..], b"%PDF-1.7 test");

    let short = h.pressbot_ok(&["presign", "cdn", "elife-00353.pdf", "--expires", "2s"]);
    let lives = expires_param(short.trim()) - before;
    assert!((2..=4).contains(&lives), "--expires 2s: {lives} s");

    let missing = h.pressbot(&["presign", "cdn", "nope.pdf"]);
    assert!(!missing.status.success());
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(
        err.contains("no object s3://") && err.contains("nope.pdf"),
        "{err}"
    );
    let too_long = h.pressbot(&["presign", "cdn", "elife-00353.pdf", "--expires", "8days"]);
    assert!(!too_long.status.success());
    let err = String::from_utf8_lossy(&too_long.stderr);
    assert!(err.contains("between 1 second and 7 days"), "{err}");

    // The key file never reaches the operator's terminal.
    let secret = std::fs::read_to_string(h.data_dir().join("presign.key")).expect("key");
    assert!(!url.contains(secret.trim()) && !stderr.contains(secret.trim()));
}

#[tokio::test(flavor = "multi_thread")]
async fn urls_are_fetchable_while_pressbot_up_serves_objects() {
    let mut h = Harness::new();
    let port = free_port();
    h.set(
        "PRESSBOT__LOCAL__OBJECT_LISTEN",
        &format!("127.0.0.1:{port}"),
    );
    h.set(
        "PRESSBOT__LOCAL__OBJECT_URL",
        &format!("http://127.0.0.1:{port}"),
    );
    h.set(
        "PRESSBOT__CMS__EMBEDDED_LISTEN",
        &format!("127.0.0.1:{}", free_port()),
    );
    h.pressbot_ok(&["create-resources"]);
    put_pdf(&h);
    let log = std::fs::File::create(h.path().join("logs/up.log")).expect("log");
    let mut up = h
        .command("pressbot")
        .arg("up")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", bin("pressbot").display()));
    let probe = format!("http://127.0.0.1:{port}/x/y");
    wait_for(
        "the object server to answer",
        Duration::from_secs(60),
        || {
            let probe = probe.clone();
            async move { reqwest::get(&probe).await.ok().map(|r| r.status().as_u16()) }
        },
    )
    .await;

    let url = h.pressbot_ok(&["presign", "cdn", "elife-00353.pdf", "--expires", "1s"]);
    let url = url.trim();
    assert!(
        url.starts_with(&format!(
            "http://127.0.0.1:{port}/pressbot-dev-cdn/elife-00353.pdf?expires="
        )),
        "{url}"
    );
    let r = reqwest::get(url).await.expect("GET");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(&r.bytes().await.expect("body")[..], b"%PDF-1.7 test");

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = reqwest::get(url).await.expect("GET");
    assert_eq!(r.status().as_u16(), 403);
    let body = r.text().await.expect("body");
    assert!(body.contains("expired at"), "{body}");

    let _ = up.kill();
    let _ = up.wait();
}

/// A taken object port (a second `pressbot up`, say) is logged and does not
/// stop `up`: the object server is an extra, the pipeline is not.
#[tokio::test(flavor = "multi_thread")]
async fn pressbot_up_runs_on_when_the_object_port_is_taken() {
    let mut h = Harness::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr");
    h.set("PRESSBOT__LOCAL__OBJECT_LISTEN", &addr.to_string());
    h.set(
        "PRESSBOT__CMS__EMBEDDED_LISTEN",
        &format!("127.0.0.1:{}", free_port()),
    );
    let log_path = h.path().join("logs/up.log");
    let log = std::fs::File::create(&log_path).expect("log");
    let mut up = h
        .command("pressbot")
        .arg("up")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn pressbot up");
    let line = wait_for("the object server error", Duration::from_secs(60), || {
        let p = log_path.clone();
        async move {
            std::fs::read_to_string(&p)
                .ok()?
                .lines()
                .find(|l| l.contains("object server not started"))
                .map(str::to_owned)
        }
    })
    .await;
    assert!(line.contains(&addr.to_string()), "{line}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(up.try_wait().expect("status").is_none(), "up keeps running");
    let _ = up.kill();
    let _ = up.wait();
}
