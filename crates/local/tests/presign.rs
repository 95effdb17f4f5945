//! Presigned URLs of the embedded backend over real HTTP (the object
//! server bound on 127.0.0.1:0): served before expiry, refused after and
//! when tampered with; signed by a key shared by every instance on the
//! data dir; the key never leaks into URLs, errors or logs.

mod common;

use bytes::Bytes;
use common::open;
use pressbot_core::backend::{ObjectStore, PutOptions};
use pressbot_core::time::Timestamp;
use pressbot_local::presign::{PresignCheck, KEY_FILE};
use pressbot_local::{object_server, LocalBackend, LocalError};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const BUCKET: &str = "pdf-bucket";
const KEY: &str = "articles/elife 00666/v1.pdf";

async fn store(dir: &Path) -> LocalBackend {
    let b = open(dir);
    b.create_bucket(BUCKET).await.expect("bucket");
    b.put(
        BUCKET,
        KEY,
        Bytes::from_static(b"%PDF-1.7 hello"),
        PutOptions {
            content_type: Some("application/pdf".into()),
            cache_control: None,
        },
    )
    .await
    .expect("put");
    b
}

/// Serve `b`'s objects on a free loopback port and point its URLs there.
async fn serve(b: &LocalBackend) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (addr, _task) =
        object_server::serve(b.clone(), "127.0.0.1:0".parse().expect("addr"), async {
            let _ = stopped.await;
        })
        .await
        .expect("serve");
    b.set_object_url(Some(&format!("http://{addr}/")))
        .expect("object url");
    (addr, stop)
}

async fn fetch(url: &str) -> (u16, Option<String>, String) {
    let r = reqwest::get(url).await.expect("GET");
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().expect("ascii").to_owned());
    (status, ct, r.text().await.expect("body"))
}

fn secret_hex(dir: &Path) -> String {
    std::fs::read_to_string(dir.join(KEY_FILE))
        .expect("key file")
        .trim()
        .to_owned()
}

fn check_of(e: &LocalError) -> PresignCheck {
    match e {
        LocalError::PresignRefused { check, .. } => *check,
        other => panic!("expected a refusal, got {other}"),
    }
}

/// Replace the value of query parameter `name`.
fn with_param(url: &str, name: &str, value: &str) -> String {
    let (base, query) = url.split_once('?').expect("query");
    let query: Vec<String> = query
        .split('&')
        .map(|p| {
            if p.starts_with(&format!("{name}=")) {
                format!("{name}={value}")
            } else {
                p.to_owned()
            }
        })
        .collect();
    format!("{base}?{}", query.join("&"))
}

fn param(url: &str, name: &str) -> String {
    url.split_once('?')
        .expect("query")
        .1
        .split('&')
        .find_map(|p| p.strip_prefix(&format!("{name}=")))
        .expect("param")
        .to_owned()
}

#[tokio::test]
async fn served_over_http_before_expiry_and_refused_after() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = store(dir.path()).await;
    let (addr, _stop) = serve(&b).await;
    let url = b
        .presign_get(BUCKET, KEY, Duration::from_secs(1))
        .await
        .expect("presign");
    assert!(
        url.starts_with(&format!(
            "http://{addr}/{BUCKET}/articles/elife%2000666/v1.pdf?expires="
        )),
        "{url}"
    );
    let (status, ct, body) = fetch(&url).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ct.as_deref(), Some("application/pdf"));
    assert_eq!(body, "%PDF-1.7 hello");

    // Expiry is rounded up to a whole second: at most 2 s from now.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (status, _, body) = fetch(&url).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("expired at 20"), "{body}");
    assert!(body.contains(" ago)"), "{body}");
}

#[tokio::test]
async fn expiry_is_checked_at_the_given_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = store(dir.path()).await;
    let t0 = Timestamp(1_800_000_000_000);
    let url = b
        .presign_get_at(BUCKET, KEY, Duration::from_secs(15 * 60), t0)
        .expect("presign");
    assert_eq!(param(&url, "expires"), "1800000900");
    let got = b
        .get_presigned_at(&url, t0.plus(Duration::from_secs(899)))
        .await
        .expect("valid until the last second");
    assert_eq!(&got.body[..], b"%PDF-1.7 hello");
    let e = b
        .get_presigned_at(&url, t0.plus(Duration::from_secs(960)))
        .await
        .expect_err("expired");
    assert_eq!(check_of(&e), PresignCheck::Expired);
    assert!(
        e.to_string()
            .contains("expired: expired at 2027-01-15T08:15:00.000Z (1m ago)"),
        "{e}"
    );
    // Out-of-range lifetimes are refused when signing.
    for bad in [Duration::ZERO, Duration::from_secs(8 * 24 * 3600)] {
        let e = b.presign_get_at(BUCKET, KEY, bad, t0).expect_err("range");
        assert!(e.to_string().contains("between 1 second and 7 days"), "{e}");
    }
}

#[tokio::test]
async fn tampered_and_malformed_urls_are_refused_over_http() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = store(dir.path()).await;
    b.put(
        BUCKET,
        "other.pdf",
        Bytes::from_static(b"other"),
        PutOptions::default(),
    )
    .await
    .expect("put");
    let (addr, _stop) = serve(&b).await;
    let url = b
        .presign_get(BUCKET, KEY, Duration::from_secs(600))
        .await
        .expect("presign");
    assert_eq!(fetch(&url).await.0, 200);

    let expires: i64 = param(&url, "expires").parse().expect("number");
    let sig = param(&url, "signature");
    let flipped = format!(
        "{}{}",
        if sig.starts_with('0') { '1' } else { '0' },
        &sig[1..]
    );
    let tampered = [
        ("key", url.replace("v1.pdf", "v2.pdf")),
        (
            "key to another object",
            url.replace("articles/elife%2000666/v1.pdf", "other.pdf"),
        ),
        ("bucket", url.replace(BUCKET, "pdf-bucket2")),
        (
            "expiry",
            with_param(&url, "expires", &(expires + 3600).to_string()),
        ),
        ("signature", with_param(&url, "signature", &flipped)),
    ];
    for (what, bad) in &tampered {
        let (status, _, body) = fetch(bad).await;
        assert_eq!(status, 403, "{what}: {body}");
        assert!(
            body.contains("presigned URL refused: bad signature: signature does not match"),
            "{what}: {body}"
        );
        let e = b.get_presigned(bad).await.expect_err(what);
        assert_eq!(check_of(&e), PresignCheck::Signature, "{what}");
    }

    let malformed = [
        ("no query", url.split('?').next().expect("path").to_owned()),
        (
            "no signature",
            url.split("&signature").next().expect("cut").to_owned(),
        ),
        ("bad expiry", with_param(&url, "expires", "tomorrow")),
        ("short signature", with_param(&url, "signature", "abc")),
        (
            "no key",
            format!("http://{addr}/{BUCKET}?expires=1&signature={sig}"),
        ),
        (
            "bad bucket",
            format!("http://{addr}/Bad_Bucket/k?expires=1&signature={sig}"),
        ),
        (
            "long key",
            format!(
                "http://{addr}/{BUCKET}/{}?expires=1&signature={sig}",
                "k".repeat(1100)
            ),
        ),
    ];
    for (what, bad) in &malformed {
        let (status, _, body) = fetch(bad).await;
        assert_eq!(status, 400, "{what}: {body}");
        assert!(body.contains("malformed URL"), "{what}: {body}");
    }

    // A genuine URL of an object deleted since: 404.
    let gone = b
        .presign_get(BUCKET, "not/there.pdf", Duration::from_secs(60))
        .await
        .expect("presign a missing object, as S3 allows");
    let (status, _, body) = fetch(&gone).await;
    assert_eq!(status, 404, "{body}");
    assert!(
        body.contains("object not found: pdf-bucket/not/there.pdf"),
        "{body}"
    );

    let client = reqwest::Client::new();
    let r = client.put(&url).body("x").send().await.expect("PUT");
    assert_eq!(r.status().as_u16(), 405);
}

#[tokio::test]
async fn file_urls_are_signed_and_checked_too() {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = store(dir.path()).await;
    let url = b
        .presign_get(BUCKET, KEY, Duration::from_secs(60))
        .await
        .expect("presign");
    assert!(url.starts_with("file://"), "{url}");
    assert!(
        url.contains("/objects/pdf-bucket/articles/elife%2000666/v1.pdf?expires="),
        "{url}"
    );
    let got = b.get_presigned(&url).await.expect("verifies");
    assert_eq!(&got.body[..], b"%PDF-1.7 hello");
    let e = b
        .get_presigned(&url.replace("v1.pdf", "v2.pdf"))
        .await
        .expect_err("tampered");
    assert_eq!(check_of(&e), PresignCheck::Signature);
    let e = b
        .get_presigned("file:///etc/passwd?expires=1&signature=00")
        .await
        .expect_err("outside");
    assert_eq!(check_of(&e), PresignCheck::Malformed);
    assert!(e.to_string().contains("not under this data dir"), "{e}");
}

#[tokio::test]
async fn instances_on_one_data_dir_share_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = store(dir.path()).await;
    let other = open(dir.path());
    let (_addr, _stop) = serve(&other).await;
    a.set_object_url(other.object_url().as_deref())
        .expect("same base");
    let url = a
        .presign_get(BUCKET, KEY, Duration::from_secs(60))
        .await
        .expect("presign");
    let (status, _, body) = fetch(&url).await;
    assert_eq!(status, 200, "served by the other instance: {body}");
    other
        .get_presigned(&url)
        .await
        .expect("verifies in the other");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    // Rotating the key (deleting the file) revokes every URL handed out.
    std::fs::remove_file(dir.path().join(KEY_FILE)).expect("rotate");
    let (status, _, body) = fetch(&url).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("no presign key"), "{body}");
    let fresh = a
        .presign_get(BUCKET, KEY, Duration::from_secs(60))
        .await
        .expect("presign with a new key");
    assert_eq!(fetch(&fresh).await.0, 200);
    assert_eq!(fetch(&url).await.0, 403, "old URL stays revoked");
}

#[test]
fn instances_opening_a_fresh_data_dir_at_once_agree_on_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let t0 = Timestamp::now();
    let urls: Vec<(LocalBackend, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let b = open(dir.path());
                    let url = b
                        .presign_get_at(BUCKET, KEY, Duration::from_secs(60), t0)
                        .expect("presign");
                    (b, url)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    let first = &urls[0].1;
    for (b, url) in &urls {
        assert_eq!(url, first, "same key, same signature");
        b.verify_presigned(first, t0).expect("verifies everywhere");
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("tmp"))
        .expect("tmp")
        .collect();
    assert!(
        leftovers.is_empty(),
        "temp key files cleaned up: {leftovers:?}"
    );
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn the_key_never_appears_in_urls_errors_or_logs() {
    let logs = Captured::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let dir = tempfile::tempdir().expect("tempdir");
    let b = store(dir.path()).await;
    let (_addr, _stop) = serve(&b).await;
    let mut seen = Vec::new();
    let url = b
        .presign_get(BUCKET, KEY, Duration::from_secs(60))
        .await
        .expect("presign");
    seen.push(url.clone());
    seen.push(fetch(&url).await.2);
    for bad in [
        url.replace("v1.pdf", "v2.pdf"),
        with_param(&url, "expires", "1"),
        with_param(&url, "signature", "zz"),
    ] {
        seen.push(fetch(&bad).await.2);
        seen.push(
            b.get_presigned(&bad)
                .await
                .expect_err("refused")
                .to_string(),
        );
    }
    let expired = b
        .presign_get_at(BUCKET, KEY, Duration::from_secs(1), Timestamp(0))
        .expect("presign in 1970");
    seen.push(
        b.get_presigned(&expired)
            .await
            .expect_err("expired")
            .to_string(),
    );
    seen.push(format!("{b:?}"));

    let secret = secret_hex(dir.path());
    assert_eq!(secret.len(), 64);
    let logs = String::from_utf8(logs.0.lock().expect("lock").clone()).expect("utf8");
    assert!(logs.contains("created presign key"), "{logs}");
    assert!(logs.contains("presigned object refused"), "{logs}");
    for text in seen.iter().chain([&logs]) {
        assert!(!text.contains(&secret), "key leaked into: {text}");
        assert!(
            !text.to_lowercase().contains(&secret[..16]),
            "key prefix leaked into: {text}"
        );
    }
}
