//! Every message of a received batch stays invisible until it is handled or
//! handed back: two queue workers on one queue, a short visibility timeout
//! and a slow handler (each starter message takes longer to send than half
//! the timeout, a batch several timeouts), and still no message is received
//! twice. And at shutdown the messages not yet started are handed back at
//! once. On the embedded backend and on moto.
//!
//! `cargo test -p pressbot-daemons --test batch_visibility`

use async_trait::async_trait;
use pressbot_conformance::backends::{self, Fixture};
use pressbot_conformance::unique;
use pressbot_core::backend::{Backend, OutgoingMessage, QueueDepth, QueueService, ReceivedMessage};
use pressbot_core::rules::NewFileRules;
use pressbot_core::Result;
use pressbot_daemons::queue_worker::QueueWorker;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// The backend's queues, with every send slowed down and every receive
/// recorded (message id → times received).
#[derive(Debug)]
struct SlowQueues {
    inner: Arc<dyn QueueService>,
    send_delay: Duration,
    received: Mutex<BTreeMap<String, u32>>,
}

#[async_trait]
impl QueueService for SlowQueues {
    async fn receive(
        &self,
        queue: &str,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<ReceivedMessage>> {
        let got = self.inner.receive(queue, max, wait, visibility).await?;
        let mut r = self.received.lock().expect("lock");
        for m in &got {
            *r.entry(m.id.clone()).or_default() += 1;
        }
        Ok(got)
    }
    async fn send(&self, queue: &str, message: OutgoingMessage) -> Result<String> {
        tokio::time::sleep(self.send_delay).await;
        self.inner.send(queue, message).await
    }
    async fn delete(&self, queue: &str, receipt: &str) -> Result<()> {
        self.inner.delete(queue, receipt).await
    }
    async fn change_visibility(
        &self,
        queue: &str,
        receipt: &str,
        visibility: Duration,
    ) -> Result<()> {
        self.inner
            .change_visibility(queue, receipt, visibility)
            .await
    }
    async fn depth(&self, queue: &str) -> Result<QueueDepth> {
        self.inner.depth(queue).await
    }
    async fn create_queue(&self, queue: &str, max_receives: u32) -> Result<()> {
        self.inner.create_queue(queue, max_receives).await
    }
}

fn s3_event(key: &str) -> String {
    serde_json::json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "eventName": "ObjectCreated:Put",
        "eventTime": "2024-01-01T00:00:00.000Z",
        "s3": {
            "bucket": {"name": "incoming-bucket"},
            "object": {"key": key, "size": 1, "eTag": "abc"}
        }
    }]})
    .to_string()
}

struct Setup {
    backend: Backend,
    queues: Arc<SlowQueues>,
    incoming: String,
    starter: String,
    _fixture: Fixture,
}

async fn setup(fixture: Fixture, send_delay: Duration, messages: usize) -> Setup {
    let queues = Arc::new(SlowQueues {
        inner: fixture.backend.queues.clone(),
        send_delay,
        received: Mutex::new(BTreeMap::new()),
    });
    let backend = Backend {
        queues: queues.clone(),
        ..fixture.backend.clone()
    };
    let incoming = unique("incoming");
    let starter = unique("starter");
    for q in [&incoming, &starter] {
        fixture
            .backend
            .queues
            .create_queue(q, 5)
            .await
            .expect("create queue");
    }
    for i in 0..messages {
        fixture
            .backend
            .queues
            .send(
                &incoming,
                OutgoingMessage::new(s3_event(&format!("a{i}.zip"))),
            )
            .await
            .expect("send");
    }
    Setup {
        backend,
        queues,
        incoming,
        starter,
        _fixture: fixture,
    }
}

fn worker(s: &Setup, visibility: Duration) -> QueueWorker {
    let rules = NewFileRules::from_toml_str(
        "[[rule]]\nbucket = \"incoming\"\nkey = '\\.zip$'\nworkflow = \"IngestArticleZip\"\n",
        Path::new("rules.toml"),
        &|_| Some("incoming-bucket".into()),
        &|_| true,
    )
    .expect("rules");
    QueueWorker {
        backend: s.backend.clone(),
        rules: Arc::new(rules),
        incoming_queue: s.incoming.clone(),
        starter_queue: s.starter.clone(),
        wait: Duration::from_secs(1),
        visibility,
    }
}

async fn drain(backend: &Backend, queue: &str) -> Vec<ReceivedMessage> {
    let mut all = Vec::new();
    loop {
        let got = backend
            .queues
            .receive(queue, 10, Duration::from_secs(1), Duration::from_secs(60))
            .await
            .expect("receive");
        if got.is_empty() {
            return all;
        }
        all.extend(got);
    }
}

/// Two workers, visibility `visibility`, each send `delay`: a batch of
/// `n` takes n × delay, several visibility timeouts.
async fn no_message_is_handled_twice(fixture: Fixture, visibility: Duration, delay: Duration) {
    let n = 8;
    let s = setup(fixture, delay, n).await;
    let stop = CancellationToken::new();
    let workers: Vec<_> = (0..2)
        .map(|_| tokio::spawn(worker(&s, visibility).run(stop.clone())))
        .collect();
    let t0 = Instant::now();
    loop {
        let d = s.backend.queues.depth(&s.incoming).await.expect("depth");
        if d.visible + d.in_flight + d.delayed == 0 {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "not drained: {d:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let handled_in = t0.elapsed();
    stop.cancel();
    for w in workers {
        w.await.expect("joins").expect("worker ends cleanly");
    }
    assert!(
        handled_in > visibility * 2,
        "the batch must outlast the visibility timeout for this test to mean anything"
    );
    let received = s.queues.received.lock().expect("lock").clone();
    let incoming_ids: Vec<_> = received.iter().filter(|(_, n)| **n > 1).collect();
    assert!(incoming_ids.is_empty(), "received twice: {incoming_ids:?}");
    let starters = drain(&s.backend, &s.starter).await;
    assert_eq!(starters.len(), n, "one starter message per S3 event");
}

/// Shutdown mid-batch: the message being handled is finished, the ones not
/// started are visible again at once (not after the 60 s timeout).
async fn unstarted_messages_are_handed_back_at_shutdown(fixture: Fixture) {
    let n = 6;
    let s = setup(fixture, Duration::from_millis(800), n).await;
    let stop = CancellationToken::new();
    let w = tokio::spawn(worker(&s, Duration::from_secs(60)).run(stop.clone()));
    let t0 = Instant::now();
    while s.queues.received.lock().expect("lock").is_empty() {
        assert!(t0.elapsed() < Duration::from_secs(30), "nothing received");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    stop.cancel();
    w.await.expect("joins").expect("worker ends cleanly");
    let started = drain(&s.backend, &s.starter).await.len();
    assert!(started >= 1 && started < n, "handled {started} of {n}");
    let back = drain(&s.backend, &s.incoming).await;
    assert_eq!(
        back.len() + started,
        n,
        "every unstarted message handed back at once"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn local_batch_is_held_until_handled() {
    no_message_is_handled_twice(
        backends::local().await,
        Duration::from_millis(1000),
        Duration::from_millis(700),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn local_unstarted_messages_are_handed_back_at_shutdown() {
    unstarted_messages_are_handed_back_at_shutdown(backends::local().await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_batch_is_held_until_handled() {
    no_message_is_handled_twice(
        backends::aws().await,
        Duration::from_secs(2),
        Duration::from_millis(1200),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_unstarted_messages_are_handed_back_at_shutdown() {
    unstarted_messages_are_handed_back_at_shutdown(backends::aws().await).await;
}
