//! No credentials anywhere in the standard chain: the first call fails at
//! once (no retries) and says what is missing. Its own test binary, because
//! it changes process environment variables.

use pressbot_aws::testing::MotoServer;
use pressbot_aws::AwsBackend;
use std::time::{Duration, Instant};

#[tokio::test]
async fn missing_credentials_fail_fast_and_say_so() {
    let moto = MotoServer::start();
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    std::env::remove_var("AWS_ACCESS_KEY_ID");
    std::env::remove_var("AWS_SECRET_ACCESS_KEY");
    std::env::remove_var("AWS_PROFILE");
    std::env::set_var("AWS_CONFIG_FILE", "/nonexistent/pressbot-test");
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/pressbot-test");
    let settings = moto.settings("nocreds");
    let aws = AwsBackend::connect(&settings).await.unwrap();
    let started = Instant::now();
    let err = aws.backend().workflows.ping().await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "retried: {:?}",
        started.elapsed()
    );
    assert!(!err.is_retryable());
    let text = err.to_string();
    assert!(
        text.contains("DescribeDomain") && text.contains("credentials"),
        "{text}"
    );
    assert!(text.contains("AWS_ACCESS_KEY_ID"), "{text}");
}
