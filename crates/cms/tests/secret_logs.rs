//! The CMS secret never reaches the logs, even at TRACE and when the CMS
//! echoes it back in a refusal.

use pressbot_cms::testing::{Behavior, MisbehavingCms};
use pressbot_cms::CmsClient;
use pressbot_core::settings::{CmsAuth, CmsSettings};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "tok-never-in-logs-7c1d";

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secret_is_not_logged() {
    let logs = Buffer::default();
    let writer = logs.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let var = "PRESSBOT_CMS_TEST_LOG_TOKEN";
    std::env::set_var(var, TOKEN);
    let cms = MisbehavingCms::start(
        vec![
            Behavior::busy(0),
            Behavior::answer(401, &format!(r#"{{"error":"bad token Bearer {TOKEN}"}}"#)),
        ],
        vec![],
    )
    .await
    .expect("start");
    let settings = CmsSettings {
        base_url: Some(cms.base_url()),
        embedded: false,
        embedded_listen: "127.0.0.1:0".parse().expect("addr"),
        auth: CmsAuth::Bearer,
        secret_env: Some(var.into()),
        secret_file: None,
        connect_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(300),
        max_retry_after: Duration::from_secs(2),
        lease_ttl: std::time::Duration::from_secs(30),
        lease_wait: std::time::Duration::from_secs(240),
    };
    let c = CmsClient::from_settings(&settings, None)
        .expect("client")
        .with_retries(3, Duration::from_millis(10));
    tracing::info!(client = ?c, "client built");
    let e = c
        .ingest("00353", 1, "run-a", br#"{"title":"x"}"#)
        .await
        .expect_err("401");
    tracing::error!(error = %e, debug = ?e, "ingest failed");
    c.ingest("00353", 1, "run-b", br#"{"title":"x"}"#)
        .await
        .expect("ingest");

    let text = String::from_utf8(logs.0.lock().expect("lock").clone()).expect("utf8");
    assert!(
        text.contains("CMS call failed, retrying"),
        "logs were captured: {text}"
    );
    assert!(!text.contains(TOKEN), "{text}");
    assert_eq!(
        cms.requests()[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}
