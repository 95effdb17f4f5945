//! The client against a misbehaving CMS over real HTTP on 127.0.0.1.
//! Timeouts are short (300 ms) so hangs cost little; nothing sleeps long.

use pressbot_cms::testing::{Behavior, MisbehavingCms};
use pressbot_cms::{idempotency_key, CmsClient, CmsError, TransportKind, VersionState};
use pressbot_core::settings::{CmsAuth, CmsSettings};
use std::time::Duration;

const ARTICLE: &[u8] = br#"{"title":"A paper","doi":"10.7554/eLife.00353"}"#;

fn settings() -> CmsSettings {
    CmsSettings {
        base_url: None,
        embedded: false,
        embedded_listen: "127.0.0.1:0".parse().expect("addr"),
        auth: CmsAuth::None,
        secret_env: None,
        secret_file: None,
        connect_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(300),
        max_retry_after: Duration::from_secs(2),
        lease_ttl: std::time::Duration::from_secs(30),
        lease_wait: std::time::Duration::from_secs(240),
    }
}

fn client(cms: &MisbehavingCms) -> CmsClient {
    CmsClient::from_settings(&settings(), Some(&cms.base_url()))
        .expect("client")
        .with_retries(4, Duration::from_millis(10))
}

/// (method, path) of every request, for asserting the order of calls.
fn calls(cms: &MisbehavingCms) -> Vec<String> {
    cms.requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

const STATUS: &str = "GET /articles/00353/versions/1";
const POST: &str = "POST /articles/00353/versions/1";

#[tokio::test]
async fn busy_with_retry_after_then_success() {
    let cms = MisbehavingCms::start(vec![Behavior::busy(1)], vec![])
        .await
        .expect("start");
    let done = client(&cms)
        .ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect("ingested after the CMS stopped being busy");
    assert!(!done.already_there);
    assert_eq!(cms.ingests("00353", 1), 1);
    assert_eq!(calls(&cms), [STATUS, POST, STATUS, POST]);
    let key = idempotency_key("00353", 1, "run-a");
    for r in cms.requests() {
        assert_eq!(r.header("idempotency-key"), Some(key.as_str()), "{r:?}");
    }
}

#[tokio::test]
async fn deploying_then_success() {
    let cms = MisbehavingCms::start(
        vec![Behavior::deploying(0), Behavior::answer(500, "{}")],
        vec![],
    )
    .await
    .expect("start");
    client(&cms)
        .ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect("ingested after 503 and 500");
    assert_eq!(cms.ingests("00353", 1), 1);
}

#[tokio::test]
async fn retry_after_as_an_http_date() {
    let date = httpdate::fmt_http_date(std::time::SystemTime::now());
    let cms = MisbehavingCms::start(
        vec![Behavior::Answer {
            status: 503,
            retry_after: Some(date),
            body: "{}".into(),
        }],
        vec![],
    )
    .await
    .expect("start");
    client(&cms)
        .ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect("ingested once the date passed");
    assert_eq!(cms.ingests("00353", 1), 1);
}

#[tokio::test]
async fn retry_after_beyond_the_cap_goes_back_to_the_retry_policy() {
    let cms = MisbehavingCms::start(vec![Behavior::busy(3600)], vec![])
        .await
        .expect("start");
    let e = client(&cms)
        .ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect_err("busy for an hour");
    assert!(e.is_retryable(), "{e}");
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3600)));
    assert!(e.to_string().contains("429"), "{e}");
    assert_eq!(calls(&cms), [STATUS, POST], "no in-call wait of an hour");
}

#[tokio::test]
async fn answer_lost_after_ingest_is_recognised_by_status_and_never_reposted() {
    let cms = MisbehavingCms::start(
        vec![Behavior::SucceedThenHang(Duration::from_secs(3))],
        vec![],
    )
    .await
    .expect("start");
    let done = client(&cms)
        .ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect("recognised as ingested");
    assert!(done.already_there, "the status check found our key");
    assert_eq!(cms.ingests("00353", 1), 1);
    assert_eq!(calls(&cms), [STATUS, POST, STATUS]);
}

#[tokio::test]
async fn proxy_gateway_timeout_after_the_cms_ingested_is_not_reposted() {
    let cms = MisbehavingCms::start(vec![Behavior::SucceedThenAnswer { status: 504 }], vec![])
        .await
        .expect("start");
    let done = client(&cms)
        .ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect("recognised as ingested");
    assert!(done.already_there);
    assert_eq!(cms.ingests("00353", 1), 1);
    assert_eq!(calls(&cms), [STATUS, POST, STATUS]);
}

#[tokio::test]
async fn cut_while_still_ingesting_is_retryable_and_then_recognised() {
    let cms = MisbehavingCms::start(
        vec![Behavior::CutWhileIngesting {
            ingesting_for: Duration::from_millis(400),
        }],
        vec![],
    )
    .await
    .expect("start");
    let c = client(&cms);
    let e = c
        .ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect_err("still ingesting");
    assert!(matches!(e, CmsError::StillIngesting { .. }), "{e}");
    assert!(e.is_retryable());
    assert_eq!(calls(&cms), [STATUS, POST, STATUS]);
    // The next activity attempt (the retry policy's timer, shortened here).
    tokio::time::sleep(Duration::from_millis(500)).await;
    let done = c
        .ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect("done now");
    assert!(done.already_there);
    assert_eq!(cms.ingests("00353", 1), 1, "never ingested twice");
    assert_eq!(calls(&cms), [STATUS, POST, STATUS, STATUS]);
}

#[tokio::test]
async fn reset_connection_is_retried_after_asking() {
    let cms = MisbehavingCms::start(vec![Behavior::Reset], vec![])
        .await
        .expect("start");
    let done = client(&cms)
        .ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect("ingested on the second round");
    assert!(!done.already_there);
    assert_eq!(cms.ingests("00353", 1), 1);
    assert_eq!(calls(&cms), [STATUS, POST, STATUS, POST]);
}

#[tokio::test]
async fn hang_without_ingest_is_a_retryable_timeout_when_rounds_run_out() {
    let cms = MisbehavingCms::start(vec![Behavior::Hang(Duration::from_secs(2)); 2], vec![])
        .await
        .expect("start");
    let e = client(&cms)
        .with_retries(2, Duration::from_millis(10))
        .ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect_err("timed out twice");
    assert!(
        matches!(
            e,
            CmsError::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.is_retryable());
    assert_eq!(cms.ingests("00353", 1), 0);
}

#[tokio::test]
async fn rounds_stop_at_the_call_budget() {
    let cms = MisbehavingCms::start(vec![Behavior::Hang(Duration::from_secs(2)); 5], vec![])
        .await
        .expect("start");
    let e = client(&cms)
        .with_retries(10, Duration::from_millis(10))
        .with_call_budget(Duration::from_millis(200))
        .ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect_err("timed out");
    assert!(e.is_retryable(), "{e}");
    // One round (status, post that timed out at 300 ms), then the budget is spent.
    assert_eq!(calls(&cms), [STATUS, POST]);
}

#[tokio::test]
async fn bad_request_is_permanent_with_the_cms_answer() {
    let cms = MisbehavingCms::start(
        vec![Behavior::answer(
            400,
            r#"{"error":"field `title` is missing"}"#,
        )],
        vec![],
    )
    .await
    .expect("start");
    let e = client(&cms)
        .ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect_err("refused");
    assert!(!e.is_retryable(), "{e}");
    let text = e.to_string();
    assert!(
        text.contains("400") && text.contains("field `title` is missing"),
        "{text}"
    );
    assert!(
        text.contains("/articles/00353/versions/1"),
        "names the target: {text}"
    );
    assert_eq!(
        calls(&cms),
        [STATUS, POST],
        "no retry of a permanent refusal"
    );
}

#[tokio::test]
async fn request_timeout_408_is_retryable() {
    let cms = MisbehavingCms::start(vec![Behavior::answer(408, "{}")], vec![])
        .await
        .expect("start");
    client(&cms)
        .ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect("retried after 408");
    assert_eq!(cms.ingests("00353", 1), 1);
}

#[tokio::test]
async fn publish_of_an_unknown_version_is_permanent() {
    let cms = MisbehavingCms::start(vec![], vec![]).await.expect("start");
    let e = client(&cms)
        .publish("00353", 1, "run-a")
        .await
        .expect_err("404");
    assert!(!e.is_retryable(), "{e}");
    assert!(e.to_string().contains("404"), "{e}");
    assert_eq!(cms.publishes("00353", 1), 0);
}

#[tokio::test]
async fn ingest_then_publish_twice_publishes_once() {
    let cms = MisbehavingCms::start(vec![], vec![]).await.expect("start");
    let c = client(&cms);
    c.ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect("ingest");
    let p = c.publish("00353", 1, "run-a").await.expect("publish");
    assert!(!p.already_published);
    let again = c.publish("00353", 1, "run-a").await.expect("publish again");
    assert!(again.already_published);
    assert_eq!(cms.publishes("00353", 1), 1);
    let s = c.status("00353", 1).await.expect("status").expect("known");
    assert_eq!(s.status, VersionState::Published);
    // A repeated ingest of the same run (a retried activity) posts nothing.
    let i = c
        .ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect("ingest");
    assert!(i.already_there);
    assert_eq!(cms.ingests("00353", 1), 1);
}

#[tokio::test]
async fn publish_cut_is_retried_and_publishes_once() {
    let cms = MisbehavingCms::start(vec![], vec![]).await.expect("start");
    let c = client(&cms);
    c.ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect("ingest");
    cms.push_posts([Behavior::SucceedThenHang(Duration::from_secs(2))]);
    let p = c.publish("00353", 1, "run-a").await.expect("publish");
    assert!(p.already_published, "recognised by status after the cut");
    assert_eq!(cms.publishes("00353", 1), 1);
}

#[tokio::test]
async fn silent_correction_sends_the_flag() {
    let cms = MisbehavingCms::start(vec![], vec![]).await.expect("start");
    let c = client(&cms);
    c.ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect("ingest");
    c.silent_correction("00353", 1, "run-b", ARTICLE)
        .await
        .expect("correction");
    let posts: Vec<_> = cms
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0].header("x-silent-correction"), None);
    assert_eq!(posts[1].header("x-silent-correction"), Some("true"));
}

#[tokio::test]
async fn connection_refused_is_retryable() {
    // Bind then drop to find a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let c = CmsClient::from_settings(&settings(), Some(&format!("http://127.0.0.1:{port}")))
        .expect("client")
        .with_retries(2, Duration::from_millis(10));
    let e = c
        .ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect_err("nobody listens");
    assert!(e.is_retryable(), "{e}");
    assert!(
        matches!(
            e,
            CmsError::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{e}"
    );
}

const BASIC_SECRET: &str = "editor:s3cr3t-Pa55";
const BASIC_B64: &str = "ZWRpdG9yOnMzY3IzdC1QYTU1";
const TOKEN: &str = "tok-9f8e7d6c5b4a";

/// A CMS that refuses with 401 and echoes the Authorization header back.
async fn echoing_refusal(c: &CmsClient, cms: &MisbehavingCms) -> String {
    let _ = c.status("00353", 1).await;
    let auth = cms.requests()[0]
        .header("authorization")
        .expect("auth header sent")
        .to_owned();
    cms.push_posts([Behavior::answer(
        401,
        &format!(r#"{{"error":"bad credentials: {auth}"}}"#),
    )]);
    let e = c
        .ingest("00353", 1, "run-a", ARTICLE)
        .await
        .expect_err("401");
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("<redacted>"), "{e}");
    auth
}

#[tokio::test]
async fn basic_auth_from_a_file_is_sent_and_never_shown() {
    let cms = MisbehavingCms::start(vec![], vec![]).await.expect("start");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cms-secret");
    std::fs::write(&file, format!("{BASIC_SECRET}\n")).expect("write secret");
    let mut s = settings();
    s.auth = CmsAuth::Basic;
    s.secret_file = Some(file);
    let c = CmsClient::from_settings(&s, Some(&cms.base_url()))
        .expect("client")
        .with_retries(2, Duration::from_millis(10));
    let auth = echoing_refusal(&c, &cms).await;
    assert_eq!(auth, format!("Basic {BASIC_B64}"));
    cms.push_posts([Behavior::answer(401, &format!(r#"{{"error":"{auth}"}}"#))]);
    let e = c
        .ingest("00353", 1, "run-b", ARTICLE)
        .await
        .expect_err("401 again");
    for shown in [format!("{c:?}"), format!("{e:?}"), e.to_string()] {
        assert!(!shown.contains("s3cr3t-Pa55"), "{shown}");
        assert!(!shown.contains(BASIC_B64), "{shown}");
    }
}

#[tokio::test]
async fn bearer_auth_from_the_environment_is_sent_and_never_shown() {
    let cms = MisbehavingCms::start(vec![], vec![]).await.expect("start");
    let var = "PRESSBOT_CMS_TEST_BEARER_TOKEN";
    std::env::set_var(var, TOKEN);
    let mut s = settings();
    s.auth = CmsAuth::Bearer;
    s.secret_env = Some(var.into());
    let c = CmsClient::from_settings(&s, Some(&cms.base_url()))
        .expect("client")
        .with_retries(2, Duration::from_millis(10));
    let auth = echoing_refusal(&c, &cms).await;
    assert_eq!(auth, format!("Bearer {TOKEN}"));
    let debug = format!("{c:?}");
    assert!(!debug.contains(TOKEN), "{debug}");
    cms.push_posts([Behavior::answer(401, &format!(r#"{{"error":"{auth}"}}"#))]);
    let e = c
        .ingest("00353", 1, "run-c", ARTICLE)
        .await
        .expect_err("401 again");
    assert!(!e.to_string().contains(TOKEN) && !format!("{e:?}").contains(TOKEN));
}

#[test]
fn settings_errors_name_the_problem_not_the_secret() {
    let mut s = settings();
    s.auth = CmsAuth::Bearer;
    s.secret_env = Some("PRESSBOT_CMS_TEST_UNSET_VARIABLE".into());
    let e = CmsClient::from_settings(&s, Some("http://127.0.0.1:1")).expect_err("unset");
    assert!(
        e.to_string()
            .contains("PRESSBOT_CMS_TEST_UNSET_VARIABLE is not set"),
        "{e}"
    );

    let e = CmsClient::from_settings(&settings(), Some("https://editor:hunter2@cms.example.org"))
        .expect_err("credentials in the URL");
    assert!(!e.to_string().contains("hunter2"), "{e}");
    assert!(e.to_string().contains("cms.base_url"), "{e}");

    let e = CmsClient::from_settings(&settings(), None).expect_err("no URL");
    assert!(e.to_string().contains("cms.base_url"), "{e}");

    let mut s = settings();
    s.auth = CmsAuth::Basic;
    s.secret_env = Some("PRESSBOT_CMS_TEST_NO_COLON".into());
    std::env::set_var("PRESSBOT_CMS_TEST_NO_COLON", "justapassword");
    let e = CmsClient::from_settings(&s, Some("http://127.0.0.1:1")).expect_err("no colon");
    assert!(e.to_string().contains("user:password"), "{e}");
    assert!(!e.to_string().contains("justapassword"), "{e}");
}

#[test]
fn embedded_settings_default_to_the_embedded_listen_address() {
    let mut s = settings();
    s.embedded = true;
    s.embedded_listen = "127.0.0.1:8480".parse().expect("addr");
    let c = CmsClient::from_settings(&s, None).expect("client");
    assert_eq!(c.base_url(), "http://127.0.0.1:8480/");
}

/// The fake CMS counts what a client that does not ask first would send: a
/// repeated ingest POST under the same key (answered 200 duplicate, not a
/// real ingest) and a publish of a published version (409), both raw POSTs.
/// The chaos run relies on these counts; here they are shown to count.
#[tokio::test]
async fn repeated_posts_are_counted_as_duplicates_and_conflicts() {
    let cms = MisbehavingCms::start(vec![], vec![]).await.expect("start");
    let http = reqwest::Client::new();
    let key = idempotency_key("00353", 1, "run-a");
    let url = format!("{}/articles/00353/versions/1", cms.base_url());
    for expected in [201, 200] {
        let resp = http
            .post(&url)
            .header(pressbot_cms::IDEMPOTENCY_KEY, &key)
            .body(ARTICLE.to_vec())
            .send()
            .await
            .expect("ingest POST");
        assert_eq!(resp.status().as_u16(), expected);
    }
    for expected in [200, 409] {
        let resp = http
            .post(format!("{url}/publish"))
            .header(pressbot_cms::IDEMPOTENCY_KEY, &key)
            .send()
            .await
            .expect("publish POST");
        assert_eq!(resp.status().as_u16(), expected);
    }
    assert_eq!((cms.ingests("00353", 1), cms.publishes("00353", 1)), (1, 1));
    assert_eq!(
        (cms.ingest_posts("00353", 1), cms.publish_posts("00353", 1)),
        (2, 2)
    );
    assert_eq!(cms.duplicate_ingest_posts("00353", 1), 1);
    assert_eq!(cms.conflicting_publish_posts("00353", 1), 1);
    assert_eq!(cms.duplicate_ingest_posts("00353", 2), 0);
    assert_eq!(cms.conflicting_publish_posts("00353", 2), 0);
}
