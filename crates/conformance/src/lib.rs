//! One conformance suite for core's backend traits, written once against
//! [`Backend`](pressbot_core::backend::Backend) and run unchanged on the embedded backend and on the AWS
//! backend against `moto_server` (see `tests/local.rs`, `tests/aws.rs`).
//!
//! Each function is one behaviour the trait docs (and DESIGN.md) promise on
//! both backends, checked only through the traits. A function creates
//! everything it needs itself (types, queues, buckets) under names unique
//! to the call, so tests may share one moto; a fixture from [`backends`]
//! gives each test its own SWF domain / data dir.
//!
//! Where moto cannot do what AWS does (see `pressbot_aws::testing`), the
//! function still lives here and `tests/aws.rs` marks it `#[ignore]` with
//! the reason in the moto list, so the gap is visible instead of the check
//! being weakened; the workflow cases, those three included, run on the
//! AWS backend against [`swf_stand_in`] too (a stateful SWF stand-in built
//! on the embedded backend), which has the SWF behaviour moto lacks.
//!
//! Failures panic with what was expected and what came back: this is a
//! test library, and a panic is how a test says so.

mod backend;
pub mod backends;
mod objects;
mod queues;
pub mod swf_stand_in;
mod workflows;

pub use backend::*;
pub use objects::*;
pub use queues::*;
pub use workflows::*;

use pressbot_core::definition::{Definitions, WorkflowDefinition};
use std::path::Path;
use std::time::Duration;

/// Decision task list of the suite's workflow type.
pub const DECISIONS: &str = "decisions";
/// Activity task list of the suite's activity type.
pub const WORK: &str = "work";
const WORKFLOW: &str = "Conform";
const ACTIVITY: &str = "PingWorker";

/// How long a helper waits for a task or message that must come. Generous
/// against a loaded CI machine; only a failing test waits this long.
const PATIENCE: Duration = Duration::from_secs(30);

const DEFINITION: &str = r#"
name = "Conform"
version = "1"
task_list = "decisions"
execution_start_to_close = "10m"

[defaults]
start_to_close = "1m"
schedule_to_start = "5m"
heartbeat = "30s"
retry = { max_attempts = 3, initial = "1s", backoff = 2.0, max = "10s" }

[[step]]
activity = "PingWorker"
task_list = "work"
"#;

/// The suite's one workflow type and its activity type.
pub fn definitions() -> Definitions {
    let def = WorkflowDefinition::from_toml_str(DEFINITION, Path::new("Conform.toml"), &|_| true)
        .expect("the suite's workflow definition is valid");
    let mut defs = Definitions::default();
    defs.insert(def).expect("one definition");
    defs
}

/// A name no other call uses (buckets and queues are global on moto).
pub fn unique(base: &str) -> String {
    format!(
        "{base}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// One `#[tokio::test]` per conformance function on the backend `$fixture`
/// (an `async fn() -> backends::Fixture`). Attributes before a name (e.g.
/// `#[ignore = "why"]`) go onto that test.
#[macro_export]
macro_rules! conformance_tests {
    ($fixture:path; $( $(#[$attr:meta])* $name:ident ),* $(,)?) => {
        $(
            $(#[$attr])*
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let fixture = $fixture().await;
                $crate::$name(&fixture.backend).await;
            }
        )*
    };
}
