//! Shared by the moto tests: definitions and a started backend.
#![allow(dead_code)]

use pressbot_aws::testing::MotoServer;
use pressbot_aws::AwsBackend;
use pressbot_core::definition::{Definitions, WorkflowDefinition};
use pressbot_core::settings::Settings;
use std::path::Path;

pub const WORKFLOW: &str = r#"
name = "Ping"
version = "1"
task_list = "decisions"
execution_start_to_close = "5m"

[defaults]
start_to_close = "1m"
schedule_to_start = "5m"
heartbeat = "30s"
retry = { max_attempts = 3, initial = "1s", backoff = 2.0, max = "10s" }

[[step]]
activity = "PingWorker"

[[step]]
activity = "PostToCms"
task_list = "cms"
"#;

pub fn definitions() -> Definitions {
    let def = WorkflowDefinition::from_toml_str(WORKFLOW, Path::new("Ping.toml"), &|_| true)
        .expect("test workflow is valid");
    let mut defs = Definitions::default();
    defs.insert(def).unwrap();
    defs
}

/// A moto server, settings with the given prefix and page size, and a
/// backend whose resources exist.
pub async fn setup(prefix: &str, page_size: i32) -> (MotoServer, Settings, AwsBackend) {
    let moto = MotoServer::start();
    let mut settings = moto.settings(prefix);
    settings.aws.history_page_size = page_size;
    let aws = moto.connect(&settings).await;
    aws.create_resources(&settings, &definitions(), false, &mut |_| {})
        .await
        .expect("create-resources on moto");
    (moto, settings, aws)
}
