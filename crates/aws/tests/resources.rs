//! create-resources against moto: a plan, a real run, and a second run that changes nothing.

mod common;

use pressbot_aws::testing::MotoServer;
use pressbot_core::backend::dead_letter_queue_name;

#[tokio::test]
async fn create_resources_is_idempotent_and_dry_run_changes_nothing() {
    let moto = MotoServer::start();
    let settings = moto.settings("idem");
    let aws = moto.connect(&settings).await;
    let defs = common::definitions();

    let mut plan = Vec::new();
    aws.create_resources(&settings, &defs, true, &mut |l| plan.push(l))
        .await
        .unwrap();
    let plan = plan.join("\n");
    assert!(plan.contains("would create bucket idem-incoming"), "{plan}");
    assert!(
        plan.contains("would create queue idem-incoming-dlq"),
        "{plan}"
    );
    assert!(
        plan.contains("would register SWF domain idem-pressbot"),
        "{plan}"
    );
    assert!(
        plan.contains("would register workflow type Ping@1"),
        "{plan}"
    );
    assert!(
        plan.contains("would register activity type PostToCms@1 (task list cms)"),
        "{plan}"
    );
    // The dry run created nothing.
    let err = aws
        .verify(&settings.all_queues())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("idem-pressbot") && err.contains("run `pressbot create-resources --env test`"),
        "{err}"
    );

    let mut first = Vec::new();
    aws.create_resources(&settings, &defs, false, &mut |l| first.push(l))
        .await
        .unwrap();
    let first = first.join("\n");
    for expected in [
        "created bucket idem-incoming",
        "created bucket idem-silent-corrections",
        "created bucket idem-archive",
        "created queue idem-incoming-dlq",
        "created queue idem-workflow-starter",
        "set redrive policy of idem-event-monitor",
        "notify idem-incoming of every object created in idem-incoming",
        "notify idem-incoming of every object created in idem-silent-corrections",
        "registered SWF domain idem-pressbot (retention 1 days)",
        "registered workflow type Ping@1",
        "registered activity type PingWorker@1",
        "registered activity type PostToCms@1",
    ] {
        assert!(
            first.contains(expected),
            "missing {expected:?} in:\n{first}"
        );
    }
    aws.verify(&settings.all_queues()).await.unwrap();

    let mut second = Vec::new();
    aws.create_resources(&settings, &defs, false, &mut |l| second.push(l))
        .await
        .unwrap();
    let changed: Vec<_> = second.iter().filter(|l| !l.starts_with("ok ")).collect();
    assert!(changed.is_empty(), "second run changed {changed:?}");

    let mut plan2 = Vec::new();
    aws.create_resources(&settings, &defs, true, &mut |l| plan2.push(l))
        .await
        .unwrap();
    let would: Vec<_> = plan2.iter().filter(|l| l.starts_with("would ")).collect();
    assert!(would.is_empty(), "plan after a run still wants {would:?}");

    // Both buckets are allowed in the incoming queue's policy (one statement each).
    let backend = aws.backend();
    let dlq = dead_letter_queue_name(&settings.incoming_queue());
    assert_eq!(backend.queues.depth(&dlq).await.unwrap().visible, 0);
}

#[tokio::test]
async fn missing_queue_and_domain_say_to_run_create_resources() {
    let moto = MotoServer::start();
    let settings = moto.settings("absent");
    let aws = moto.connect(&settings).await;
    let backend = aws.backend();
    let err = backend
        .queues
        .send(
            &settings.incoming_queue(),
            pressbot_core::backend::OutgoingMessage::new("x"),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("absent-incoming") && err.contains("pressbot create-resources --env test"),
        "{err}"
    );
    let err = backend
        .workflows
        .poll_decision_task("decisions", "test")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("absent-pressbot") && err.contains("pressbot create-resources --env test"),
        "{err}"
    );
    let err = backend.workflows.ping().await.unwrap_err();
    assert!(!err.is_retryable());
}
