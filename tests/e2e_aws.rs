//! End to end on the AWS backend: the cases of `e2e_local.rs` (in
//! `e2e_cases/`), unchanged, with the daemons as separate OS processes
//! configured for AWS (`PRESSBOT__BACKEND=aws`, endpoint, path-style S3,
//! test credentials) against one moto_server started for this test binary
//! on a free loopback port and stopped when it exits. Each test has its own
//! prefix, so its own SWF domain, buckets and queues.
//!
//! Differences from the embedded run, all moto's (see
//! `pressbot_aws::testing`): activities time out by heartbeat only, so the
//! killed-worker case uses a heartbeat timeout there; SWF polls answer
//! empty after 1 s instead of 60 s.
//!
//! Without moto every test fails and says how to install it.

mod e2e_cases;
mod support;

use pressbot_conformance::backends::shared_moto;
use std::process::Stdio;
use std::time::{Duration, Instant};
use support::Harness;

fn harness() -> Harness {
    Harness::aws(&shared_moto().endpoint())
}

#[tokio::test(flavor = "multi_thread")]
async fn four_processes_ingest_a_package() {
    e2e_cases::four_processes_ingest_a_package(harness()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_worker_is_retried_after_heartbeat_timeout() {
    e2e_cases::killed_worker_is_retried_after_timeout(harness()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_s3_event_starts_one_workflow() {
    e2e_cases::duplicate_s3_event_starts_one_workflow(harness()).await;
}

/// A daemon started before `pressbot create-resources` stops at once and
/// says what to run, instead of polling a domain that is not there.
#[tokio::test(flavor = "multi_thread")]
async fn daemon_without_resources_says_to_create_them() {
    let h = harness();
    let mut child = h
        .command("decider")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn decider");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait decider") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the decider kept running without a domain or queues");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().expect("stderr"), &mut stderr)
        .expect("read stderr");
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("pressbot create-resources"), "{stderr}");
}
