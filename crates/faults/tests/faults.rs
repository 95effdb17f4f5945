//! The fault layer on the embedded backend: faults before a call have no
//! effect, faults after a call have their effect, counts add up, and one seed
//! gives one sequence.

use pressbot_core::backend::{Backend, OutgoingMessage};
use pressbot_faults::{FaultConfig, FaultKind, FaultyBackend};
use std::time::Duration;

fn local(dir: &std::path::Path) -> Backend {
    pressbot_local::LocalBackend::open(
        dir,
        pressbot_local::LocalOptions {
            domain: "faults-test".into(),
            poll_interval: Duration::from_millis(50),
            long_poll: Duration::from_millis(200),
        },
    )
    .expect("open local backend")
    .backend()
}

async fn depth(b: &Backend, q: &str) -> u64 {
    let d = b.queues.depth(q).await.expect("depth");
    d.visible + d.in_flight + d.delayed
}

#[tokio::test]
async fn a_fault_before_the_call_has_no_effect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inner = local(dir.path());
    inner.queues.create_queue("q", 3).await.expect("create");
    let faulty = FaultyBackend::wrap(
        inner.clone(),
        FaultConfig {
            throttle: 1.0,
            ..Default::default()
        },
    );
    let err = faulty
        .backend()
        .queues
        .send("q", OutgoingMessage::new("hello"))
        .await
        .expect_err("throttled");
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("SendMessage on q"), "{err}");
    assert_eq!(depth(&inner, "q").await, 0, "nothing was sent");
    assert_eq!(faulty.counts().get(FaultKind::Throttle), 1);
}

#[tokio::test]
async fn a_fault_after_the_call_hides_an_effect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inner = local(dir.path());
    inner.queues.create_queue("q", 3).await.expect("create");
    let faulty = FaultyBackend::wrap(
        inner.clone(),
        FaultConfig {
            after: 1.0,
            ..Default::default()
        },
    );
    let err = faulty
        .backend()
        .queues
        .send("q", OutgoingMessage::new("hello"))
        .await
        .expect_err("after-effect fault");
    assert!(err.is_retryable());
    assert_eq!(
        depth(&inner, "q").await,
        1,
        "the message was sent all the same"
    );
    // Reads are never hit by after-effect faults.
    faulty
        .backend()
        .queues
        .depth("q")
        .await
        .expect("depth is a read");
    assert_eq!(faulty.counts().get(FaultKind::AfterEffect), 1);
    assert_eq!(faulty.counts().total(), 1);
}

#[tokio::test]
async fn a_lost_poll_hides_a_received_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inner = local(dir.path());
    inner.queues.create_queue("q", 3).await.expect("create");
    inner
        .queues
        .send("q", OutgoingMessage::new("m"))
        .await
        .expect("send");
    let faulty = FaultyBackend::wrap(
        inner.clone(),
        FaultConfig {
            lost_poll: 1.0,
            slow_poll: 1.0,
            slow_poll_delay: Duration::from_millis(10),
            ..Default::default()
        },
    );
    faulty
        .backend()
        .queues
        .receive("q", 1, Duration::from_millis(100), Duration::from_secs(30))
        .await
        .expect_err("answer lost");
    let d = inner.queues.depth("q").await.expect("depth");
    assert_eq!(d.in_flight, 1, "the service handed the message out: {d:?}");
    assert_eq!(faulty.counts().get(FaultKind::LostPoll), 1);
    assert_eq!(faulty.counts().get(FaultKind::SlowPoll), 1);
}

#[tokio::test]
async fn one_seed_one_sequence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inner = local(dir.path());
    inner.queues.create_queue("q", 3).await.expect("create");
    let config = FaultConfig {
        seed: 42,
        server_error: 0.3,
        dropped: 0.2,
        ..Default::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let faulty = FaultyBackend::wrap(inner.clone(), config.clone());
        let mut outcomes = Vec::new();
        for _ in 0..200 {
            outcomes.push(faulty.backend().queues.depth("q").await.is_ok());
        }
        let c = faulty.counts();
        assert!(
            c.get(FaultKind::ServerError) > 20 && c.get(FaultKind::Dropped) > 10,
            "{c:?}"
        );
        runs.push(outcomes);
    }
    assert_eq!(runs[0], runs[1]);
}

#[test]
fn spec_parsing_names_the_bad_item() {
    let c = FaultConfig::parse("seed=7, throttle=0.1,after=0.05,slow_poll_ms=250").expect("parse");
    assert_eq!(c.seed, 7);
    assert_eq!(c.throttle, 0.1);
    assert_eq!(c.after, 0.05);
    assert_eq!(c.slow_poll_delay, Duration::from_millis(250));
    for (spec, needle) in [
        ("throttle=2", "between 0 and 1"),
        ("thrott=0.1", "unknown key"),
        ("seed", "key=value"),
        ("dropped=x", "not a number"),
    ] {
        let e = FaultConfig::parse(spec).expect_err(spec).to_string();
        assert!(
            e.contains(needle) && e.contains("PRESSBOT_FAULTS"),
            "{spec}: {e}"
        );
    }
}
