//! `QueueService`: visibility and redelivery, delays, batches, dead letters.

use crate::{unique, PATIENCE};
use pressbot_core::backend::{dead_letter_queue_name, Backend, OutgoingMessage};
use std::time::{Duration, Instant};

async fn receive_one(
    b: &Backend,
    queue: &str,
    visibility: Duration,
) -> pressbot_core::backend::ReceivedMessage {
    let start = Instant::now();
    loop {
        let mut got = b
            .queues
            .receive(queue, 1, Duration::from_secs(1), visibility)
            .await
            .expect("receive");
        if let Some(m) = got.pop() {
            assert!(got.is_empty());
            return m;
        }
        assert!(
            start.elapsed() < PATIENCE,
            "no message on {queue} within {PATIENCE:?}"
        );
    }
}

/// Send with attributes → receive (hidden for the visibility timeout,
/// counted in flight) → visible again when it expires, with a new receipt
/// and a higher receive count → hand back at once → delete → empty.
pub async fn queue_visibility_and_redelivery(b: &Backend) {
    let queue = unique("vis");
    b.queues
        .create_queue(&queue, 5)
        .await
        .expect("create queue");
    b.queues
        .create_queue(&queue, 5)
        .await
        .expect("create queue again changes nothing");
    let mut msg = OutgoingMessage::new(r#"{"workflow_name":"Ping"}"#);
    msg.attributes.insert("source".into(), "conformance".into());
    let id = b.queues.send(&queue, msg.clone()).await.expect("send");
    assert!(!id.is_empty());
    assert_eq!(b.queues.depth(&queue).await.expect("depth").visible, 1);

    let first = receive_one(b, &queue, Duration::from_secs(2)).await;
    assert_eq!(first.id, id);
    assert_eq!(first.body, msg.body);
    assert_eq!(
        first.attributes.get("source").map(String::as_str),
        Some("conformance")
    );
    assert_eq!(first.receive_count, 1);
    assert!(first.sent.millis() > 1_600_000_000_000);
    let depth = b.queues.depth(&queue).await.expect("depth");
    assert_eq!((depth.visible, depth.in_flight), (0, 1), "{depth:?}");
    let hidden = b
        .queues
        .receive(&queue, 10, Duration::ZERO, Duration::from_secs(30))
        .await
        .expect("receive");
    assert!(hidden.is_empty(), "hidden while in flight: {hidden:?}");

    // The visibility timeout runs out: delivered again.
    tokio::time::sleep(Duration::from_millis(2300)).await;
    let second = receive_one(b, &queue, Duration::from_secs(30)).await;
    assert_eq!(second.id, id);
    assert_eq!(second.receive_count, 2);
    assert_ne!(second.receipt, first.receipt, "a new receipt per receive");

    // Handed back at once.
    b.queues
        .change_visibility(&queue, &second.receipt, Duration::ZERO)
        .await
        .expect("change visibility");
    let third = receive_one(b, &queue, Duration::from_secs(30)).await;
    assert_eq!((third.id.as_str(), third.receive_count), (id.as_str(), 3));
    b.queues
        .delete(&queue, &third.receipt)
        .await
        .expect("delete");
    assert_eq!(
        b.queues.depth(&queue).await.expect("depth"),
        Default::default()
    );
    assert!(b
        .queues
        .receive(&queue, 10, Duration::from_secs(1), Duration::from_secs(30))
        .await
        .expect("receive")
        .is_empty());
}

/// A delayed message is counted as delayed and only then becomes visible.
pub async fn delayed_message(b: &Backend) {
    let queue = unique("delay");
    b.queues
        .create_queue(&queue, 5)
        .await
        .expect("create queue");
    let mut msg = OutgoingMessage::new("later");
    msg.delay = Some(Duration::from_secs(3));
    b.queues.send(&queue, msg).await.expect("send delayed");
    assert_eq!(b.queues.depth(&queue).await.expect("depth").delayed, 1);
    let now = b
        .queues
        .receive(&queue, 10, Duration::ZERO, Duration::from_secs(30))
        .await
        .expect("receive");
    assert!(now.is_empty(), "delayed message delivered early: {now:?}");
    tokio::time::sleep(Duration::from_millis(3300)).await;
    let m = receive_one(b, &queue, Duration::from_secs(30)).await;
    assert_eq!(m.body, "later");
}

/// After `max_receives` receives a message moves to the queue's
/// dead-letter queue (named by [`dead_letter_queue_name`]).
pub async fn dead_letter_after_max_receives(b: &Backend) {
    let queue = unique("dlq");
    b.queues
        .create_queue(&queue, 2)
        .await
        .expect("create queue");
    b.queues
        .send(&queue, OutgoingMessage::new("poison"))
        .await
        .expect("send");
    for n in 1..=2 {
        let m = receive_one(b, &queue, Duration::from_secs(30)).await;
        assert_eq!(m.receive_count, n);
        b.queues
            .change_visibility(&queue, &m.receipt, Duration::ZERO)
            .await
            .expect("hand back");
    }
    let after = b
        .queues
        .receive(&queue, 10, Duration::from_secs(1), Duration::from_secs(30))
        .await
        .expect("receive");
    assert!(
        after.is_empty(),
        "still on the queue after max receives: {after:?}"
    );
    let dead = receive_one(b, &dead_letter_queue_name(&queue), Duration::from_secs(30)).await;
    assert_eq!(dead.body, "poison");
}

/// One receive hands out up to `max` messages, never one twice; every sent
/// message arrives.
pub async fn receive_batch(b: &Backend) {
    let queue = unique("batch");
    b.queues
        .create_queue(&queue, 5)
        .await
        .expect("create queue");
    let mut sent = Vec::new();
    for n in 0..5 {
        sent.push(
            b.queues
                .send(&queue, OutgoingMessage::new(format!("m{n}")))
                .await
                .expect("send"),
        );
    }
    let mut got = Vec::new();
    let start = Instant::now();
    while got.len() < sent.len() {
        assert!(start.elapsed() < PATIENCE, "only {got:?} of {sent:?}");
        let batch = b
            .queues
            .receive(&queue, 3, Duration::from_secs(1), Duration::from_secs(30))
            .await
            .expect("receive");
        assert!(batch.len() <= 3, "more than max: {batch:?}");
        got.extend(batch.into_iter().map(|m| m.id));
    }
    let mut unique_ids = got.clone();
    unique_ids.sort();
    unique_ids.dedup();
    assert_eq!(
        unique_ids.len(),
        got.len(),
        "a message handed out twice: {got:?}"
    );
    sent.sort();
    assert_eq!(unique_ids, sent);
}
