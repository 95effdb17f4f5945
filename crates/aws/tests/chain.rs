//! The production path: `AwsBackend::connect` and `create_resources` with
//! the standard credential chain (here: the environment variables a
//! deployment would set), against moto. Its own test binary, because it
//! sets process environment variables.

mod common;

use pressbot_aws::testing::MotoServer;
use pressbot_aws::{create_resources, AwsBackend};

#[tokio::test]
async fn standard_chain_from_environment() {
    let moto = MotoServer::start();
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    std::env::remove_var("AWS_PROFILE");
    let settings = moto.settings("chain");
    let mut lines = Vec::new();
    create_resources(&settings, &common::definitions(), false, &mut |l| {
        lines.push(l)
    })
    .await
    .unwrap();
    assert!(
        lines
            .iter()
            .any(|l| l == "registered SWF domain chain-pressbot (retention 1 days)"),
        "{lines:?}"
    );
    let aws = AwsBackend::connect(&settings).await.unwrap();
    aws.verify(&settings.all_queues()).await.unwrap();
    aws.backend().workflows.ping().await.unwrap();
}

#[tokio::test]
async fn bad_settings_are_refused_with_the_key() {
    let moto = MotoServer::start();
    let mut settings = moto.settings("bad");
    settings.aws.read_timeout = std::time::Duration::from_secs(30);
    let err = AwsBackend::connect(&settings)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("aws.read_timeout"), "{err}");
    let mut settings = moto.settings("bad");
    settings.aws.history_page_size = 0;
    let err = AwsBackend::connect(&settings)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("aws.history_page_size"), "{err}");
}
