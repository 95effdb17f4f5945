//! The AWS backend through `pressbot_faults::proxy::FaultProxy` in front
//! of moto: connections reset mid-request, responses cut mid-way and slow
//! connections are survived by the backend's own retries; when every
//! connection fails the call ends with an error naming the operation.

use bytes::Bytes;
use pressbot_aws::testing::{test_settings, MotoServer};
use pressbot_aws::RetrySettings;
use pressbot_core::backend::{OutgoingMessage, PutOptions};
use pressbot_faults::proxy::{ConnectionFault, FaultProxy};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn quick_retries() -> RetrySettings {
    RetrySettings {
        max_retries: 4,
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(100),
    }
}

#[tokio::test]
async fn calls_succeed_through_resets_cuts_and_delays_by_retrying() {
    let moto = MotoServer::start();
    let upstream = SocketAddr::from(([127, 0, 0, 1], moto.port()));
    let broken = Arc::new(AtomicBool::new(false));
    let all_broken = broken.clone();
    // Connections 0-2 misbehave, then every third one is cut mid-response.
    let proxy = FaultProxy::start(upstream, move |n| {
        if all_broken.load(Ordering::SeqCst) {
            return ConnectionFault::Reset;
        }
        match n {
            0 => ConnectionFault::Reset,
            1 => ConnectionFault::CutResponse { after_bytes: 20 },
            2 => ConnectionFault::Delay(Duration::from_millis(300)),
            n if n % 3 == 0 => ConnectionFault::CutResponse { after_bytes: 40 },
            _ => ConnectionFault::Pass,
        }
    })
    .await
    .expect("proxy");
    let settings = test_settings(&proxy.endpoint(), "proxy");
    let aws = moto.connect(&settings).await.with_retry(quick_retries());
    let backend = aws.backend();

    let bucket = settings.bucket("expanded").expect("bucket");
    backend
        .objects
        .create_bucket(&bucket)
        .await
        .expect("create bucket through a reset, a cut and a delay");
    assert!(
        proxy.connections() >= 3,
        "faults were met: {}",
        proxy.connections()
    );
    for i in 0..5 {
        let key = format!("k/{i}.xml");
        backend
            .objects
            .put(
                &bucket,
                &key,
                Bytes::from(format!("<a n='{i}'/>")),
                PutOptions::default(),
            )
            .await
            .expect("put");
        let got = backend.objects.get(&bucket, &key).await.expect("get");
        assert_eq!(&got.body[..], format!("<a n='{i}'/>").as_bytes());
    }

    // Not idempotent: a SendMessage whose response is cut was received by
    // SQS, and the retry sends it again. At-least-once, as the daemons
    // expect (the starter dedupes by workflow id).
    let queue = settings.incoming_queue();
    backend.queues.create_queue(&queue, 3).await.expect("queue");
    let before = proxy.connections();
    for i in 0..3 {
        backend
            .queues
            .send(&queue, OutgoingMessage::new(format!("m{i}")))
            .await
            .expect("send");
    }
    // A receive whose response is cut took the messages in flight; they
    // come back after the (short) visibility timeout.
    let mut bodies = std::collections::BTreeSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while bodies.len() < 3 && tokio::time::Instant::now() < deadline {
        let got = backend
            .queues
            .receive(&queue, 10, Duration::from_secs(1), Duration::from_secs(1))
            .await
            .expect("receive");
        bodies.extend(got.into_iter().map(|m| m.body));
    }
    assert_eq!(
        bodies.into_iter().collect::<Vec<_>>(),
        ["m0", "m1", "m2"],
        "every message arrived (some maybe twice)"
    );
    assert!(proxy.connections() > before);

    // Every connection reset: the retries run out and the error says which call.
    broken.store(true, Ordering::SeqCst);
    let err = backend
        .objects
        .get(&bucket, "k/0.xml")
        .await
        .expect_err("no connection gets through");
    let text = err.to_string();
    assert!(
        err.is_retryable(),
        "a dropped connection is retryable: {text}"
    );
    assert!(text.contains("GetObject"), "{text}");
    assert!(text.contains("k/0.xml"), "{text}");
}
