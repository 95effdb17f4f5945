//! End to end on the embedded backend: the four roles as separate OS
//! processes sharing one data dir, driven through the `pressbot` CLI. The
//! cases live in `e2e_cases/` and run unchanged on moto in `e2e_aws.rs`.

mod e2e_cases;
mod support;

use support::Harness;

#[tokio::test(flavor = "multi_thread")]
async fn four_processes_ingest_a_package() {
    e2e_cases::four_processes_ingest_a_package(Harness::new()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_worker_is_retried_after_start_to_close_timeout() {
    e2e_cases::killed_worker_is_retried_after_timeout(Harness::new()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn duplicate_s3_event_starts_one_workflow() {
    e2e_cases::duplicate_s3_event_starts_one_workflow(Harness::new()).await;
}
