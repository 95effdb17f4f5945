//! The three services together: what empty polls and unknown names answer.

use crate::workflows::register;
use crate::{unique, DECISIONS, WORK};
use pressbot_core::backend::{Backend, OutgoingMessage};
use pressbot_core::ids::{RunId, WorkflowExecution, WorkflowId};
use pressbot_core::Error;
use std::time::Duration;

/// Empty polls are `None` / an empty batch, never an error.
pub async fn empty_polls(b: &Backend) {
    register(b).await;
    assert!(b
        .workflows
        .poll_decision_task(DECISIONS, "d")
        .await
        .expect("poll decision")
        .is_none());
    assert!(b
        .workflows
        .poll_activity_task(WORK, "w")
        .await
        .expect("poll activity")
        .is_none());
    let queue = unique("empty");
    b.queues
        .create_queue(&queue, 3)
        .await
        .expect("create queue");
    let got = b
        .queues
        .receive(&queue, 10, Duration::from_secs(1), Duration::from_secs(30))
        .await
        .expect("receive");
    assert!(got.is_empty(), "{got:?}");
}

/// Unknown executions and objects are `NotFound`; a send to an unknown
/// queue is a permanent error naming the queue. (Queues differ in kind on
/// purpose: the AWS backend answers with a `Backend` error that says to run
/// `pressbot create-resources`, the embedded one with `NotFound`.)
pub async fn unknown_things_are_not_found(b: &Backend) {
    register(b).await;
    let ghost = WorkflowExecution {
        workflow_id: WorkflowId::from("ghost"),
        run_id: RunId::from("22abcdefabcdef"),
    };
    let e = b.workflows.describe_execution(&ghost).await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "describe: {e:?}");
    let e = b
        .workflows
        .terminate(&ghost.workflow_id, None, "x")
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "terminate: {e:?}");
    let missing = unique("no-such-queue");
    let e = b
        .queues
        .send(&missing, OutgoingMessage::new("x"))
        .await
        .unwrap_err();
    assert!(!e.is_retryable(), "send: {e:?}");
    assert!(e.to_string().contains(&missing), "send: {e}");
    let bucket = unique("nf");
    b.objects
        .create_bucket(&bucket)
        .await
        .expect("create bucket");
    let e = b.objects.get(&bucket, "missing").await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "get: {e:?}");
    assert_eq!(
        b.objects.head(&bucket, "missing").await.expect("head"),
        None
    );
}
