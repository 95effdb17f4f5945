//! SQS semantics of the embedded backend, on real SQLite files.

mod common;

use common::*;
use pressbot_core::backend::{dead_letter_queue_name, OutgoingMessage, QueueDepth, QueueService};
use pressbot_core::Error;
use std::collections::BTreeMap;
use std::time::Duration;

const NO_WAIT: Duration = Duration::ZERO;

async fn queue_backend(max_receives: u32) -> (tempfile::TempDir, pressbot_local::LocalBackend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = open(dir.path());
    b.create_queue("jobs", max_receives).await.expect("create");
    b.create_queue("jobs", 99)
        .await
        .expect("create again is fine");
    (dir, b)
}

#[tokio::test]
async fn send_receive_delete_with_attributes() {
    let (_dir, b) = queue_backend(5).await;
    let mut attributes = BTreeMap::new();
    attributes.insert("kind".to_owned(), "test".to_owned());
    let id = b
        .send(
            "jobs",
            OutgoingMessage {
                body: "hello".into(),
                attributes: attributes.clone(),
                delay: None,
            },
        )
        .await
        .expect("send");
    let got = b
        .receive("jobs", 10, NO_WAIT, secs(30.0))
        .await
        .expect("receive");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, id);
    assert_eq!(got[0].body, "hello");
    assert_eq!(got[0].attributes, attributes);
    assert_eq!(got[0].receive_count, 1);
    assert_eq!(
        b.depth("jobs").await.expect("depth"),
        QueueDepth {
            visible: 0,
            in_flight: 1,
            delayed: 0
        }
    );
    b.delete("jobs", &got[0].receipt).await.expect("delete");
    assert_eq!(b.depth("jobs").await.expect("depth"), QueueDepth::default());
}

#[tokio::test]
async fn receive_batches_up_to_max_in_send_order() {
    let (_dir, b) = queue_backend(5).await;
    for i in 0..5 {
        b.send("jobs", OutgoingMessage::new(format!("m{i}")))
            .await
            .expect("send");
    }
    let got = b
        .receive("jobs", 3, NO_WAIT, secs(30.0))
        .await
        .expect("receive");
    let bodies: Vec<&str> = got.iter().map(|m| m.body.as_str()).collect();
    assert_eq!(bodies, ["m0", "m1", "m2"]);
    let got = b
        .receive("jobs", 10, NO_WAIT, secs(30.0))
        .await
        .expect("receive");
    assert_eq!(got.len(), 2);
    let e = b
        .receive("jobs", 0, NO_WAIT, secs(1.0))
        .await
        .expect_err("max 0");
    assert!(e.to_string().contains("max"), "{e}");
}

#[tokio::test]
async fn visibility_timeout_redelivers_with_a_new_receipt() {
    let (_dir, b) = queue_backend(5).await;
    b.send("jobs", OutgoingMessage::new("x"))
        .await
        .expect("send");
    let first = b
        .receive("jobs", 1, NO_WAIT, secs(1.0))
        .await
        .expect("receive");
    assert!(b
        .receive("jobs", 1, NO_WAIT, secs(1.0))
        .await
        .expect("receive")
        .is_empty());
    tokio::time::sleep(secs(1.1)).await;
    let second = b
        .receive("jobs", 1, NO_WAIT, secs(30.0))
        .await
        .expect("receive");
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].id, first[0].id);
    assert_eq!(second[0].receive_count, 2);
    assert_ne!(second[0].receipt, first[0].receipt);
    // A stale receipt deletes nothing (and is not an error, as in SQS)...
    b.delete("jobs", &first[0].receipt)
        .await
        .expect("stale delete");
    assert_eq!(b.depth("jobs").await.expect("depth").in_flight, 1);
    // ...and cannot change the visibility.
    let e = b
        .change_visibility("jobs", &first[0].receipt, secs(0.0))
        .await
        .expect_err("stale");
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    // The current receipt can hand the message back at once.
    b.change_visibility("jobs", &second[0].receipt, Duration::ZERO)
        .await
        .expect("release");
    let third = b
        .receive("jobs", 1, NO_WAIT, secs(30.0))
        .await
        .expect("receive");
    assert_eq!(third[0].receive_count, 3);
    b.delete("jobs", &third[0].receipt).await.expect("delete");
    assert_eq!(b.depth("jobs").await.expect("depth"), QueueDepth::default());
}

#[tokio::test]
async fn messages_move_to_the_dead_letter_queue_after_max_receives() {
    let (_dir, b) = queue_backend(2).await;
    b.send("jobs", OutgoingMessage::new("poison"))
        .await
        .expect("send");
    for n in 1..=2 {
        let got = b
            .receive("jobs", 1, NO_WAIT, Duration::ZERO)
            .await
            .expect("receive");
        assert_eq!(got[0].receive_count, n);
    }
    assert!(b
        .receive("jobs", 1, NO_WAIT, Duration::ZERO)
        .await
        .expect("receive")
        .is_empty());
    assert_eq!(b.depth("jobs").await.expect("depth"), QueueDepth::default());
    let dlq = dead_letter_queue_name("jobs");
    let dead = b.receive(&dlq, 1, NO_WAIT, secs(30.0)).await.expect("dlq");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "poison");
    assert_eq!(dead[0].receive_count, 3);
}

#[tokio::test]
async fn long_poll_returns_when_a_message_arrives() {
    let (_dir, b) = queue_backend(5).await;
    let receiver = b.clone();
    let wait = Duration::from_secs(20);
    let started = std::time::Instant::now();
    let poll = tokio::spawn(async move { receiver.receive("jobs", 1, wait, secs(30.0)).await });
    tokio::time::sleep(secs(0.1)).await;
    b.send("jobs", OutgoingMessage::new("wake"))
        .await
        .expect("send");
    let got = poll.await.expect("join").expect("receive");
    assert_eq!(got.len(), 1);
    assert!(started.elapsed() < wait, "the long poll ran to its end");
}

#[tokio::test]
async fn long_poll_sees_messages_from_another_instance() {
    let (dir, b) = queue_backend(5).await;
    let other = open(dir.path());
    let wait = Duration::from_secs(20);
    let poll = tokio::spawn(async move { other.receive("jobs", 1, wait, secs(30.0)).await });
    tokio::time::sleep(secs(0.1)).await;
    b.send("jobs", OutgoingMessage::new("across"))
        .await
        .expect("send");
    let got = poll.await.expect("join").expect("receive");
    assert_eq!(got[0].body, "across");
}

#[tokio::test]
async fn empty_long_poll_returns_empty_after_wait() {
    let (_dir, b) = queue_backend(5).await;
    let got = b
        .receive("jobs", 1, secs(0.2), secs(30.0))
        .await
        .expect("receive");
    assert!(got.is_empty());
}

#[tokio::test]
async fn delayed_messages_are_counted_and_appear_later() {
    let (_dir, b) = queue_backend(5).await;
    b.send(
        "jobs",
        OutgoingMessage {
            body: "later".into(),
            delay: Some(secs(1.0)),
            ..Default::default()
        },
    )
    .await
    .expect("send");
    assert_eq!(b.depth("jobs").await.expect("depth").delayed, 1);
    assert!(b
        .receive("jobs", 1, NO_WAIT, secs(30.0))
        .await
        .expect("r")
        .is_empty());
    let got = b
        .receive("jobs", 1, secs(3.0), secs(30.0))
        .await
        .expect("r");
    assert_eq!(got[0].body, "later");
}

#[tokio::test]
async fn unknown_queues_and_bad_names_are_errors() {
    let (_dir, b) = queue_backend(5).await;
    let e = b
        .send("nope", OutgoingMessage::new("x"))
        .await
        .expect_err("unknown");
    assert!(matches!(e, Error::NotFound { what: "queue", .. }), "{e}");
    let e = b
        .receive("nope", 1, NO_WAIT, secs(1.0))
        .await
        .expect_err("unknown");
    assert!(matches!(e, Error::NotFound { what: "queue", .. }), "{e}");
    let e = b.depth("nope").await.expect_err("unknown");
    assert!(matches!(e, Error::NotFound { what: "queue", .. }), "{e}");
    let e = b.create_queue("bad name!", 3).await.expect_err("bad name");
    assert!(e.to_string().contains("queue name"), "{e}");
    let e = b
        .send("jobs", OutgoingMessage::new("x".repeat(300 * 1024)))
        .await
        .expect_err("too big");
    assert!(e.to_string().contains("message body"), "{e}");
}

#[tokio::test]
async fn a_dropped_receive_loses_no_message() {
    let (_dir, b) = queue_backend(100).await;
    b.send("jobs", OutgoingMessage::new("precious"))
        .await
        .expect("send");
    let mut delivered = 0u32;
    for i in 0..40 {
        let polled = tokio::time::timeout(
            Duration::from_micros(40 * i),
            b.receive("jobs", 1, secs(1.0), secs(60.0)),
        )
        .await;
        if let Ok(got) = polled {
            let got = got.expect("receive");
            if let Some(m) = got.first() {
                delivered += 1;
                b.change_visibility("jobs", &m.receipt, Duration::ZERO)
                    .await
                    .expect("hand back");
            }
        }
    }
    // Hand-backs of dropped receives run in the background; give them a moment.
    tokio::time::sleep(secs(0.1)).await;
    let got = b
        .receive("jobs", 1, secs(1.0), secs(60.0))
        .await
        .expect("receive");
    assert_eq!(got.len(), 1, "a dropped receive kept the message in flight");
    assert_eq!(got[0].receive_count, delivered + 1);
}
