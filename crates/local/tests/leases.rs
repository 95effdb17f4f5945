//! The CMS lease on the embedded backend: one holder at a time across
//! backends opened on one data dir (as separate processes do), expiry,
//! tokens that stop a lost holder from renewing or releasing.

mod common;

use pressbot_core::lease::{Acquired, LeaseStore};
use std::sync::Arc;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(30);

#[tokio::test]
async fn one_holder_at_a_time_until_released() {
    let (dir, a) = common::setup().await;
    let b = common::open(dir.path());
    let Acquired::Held(lease) = a.acquire("cms", "worker-a", TTL).await.expect("acquire") else {
        panic!("a free lease is taken")
    };
    match b.acquire("cms", "worker-b", TTL).await.expect("acquire") {
        Acquired::Busy(h) => {
            assert_eq!(h.holder, "worker-a");
            assert_eq!(h.expires, lease.expires);
        }
        other => panic!("held elsewhere, yet {other:?}"),
    }
    let renewed = a
        .renew(&lease, TTL)
        .await
        .expect("renew")
        .expect("still ours");
    assert!(renewed.expires >= lease.expires);
    b.release(&lease)
        .await
        .expect("release from the other process");
    assert!(matches!(
        b.acquire("cms", "worker-b", TTL).await.expect("acquire"),
        Acquired::Held(_)
    ));
}

#[tokio::test]
async fn an_expired_lease_is_taken_over_and_the_old_holder_cannot_touch_it() {
    let (dir, a) = common::setup().await;
    let b = common::open(dir.path());
    let Acquired::Held(old) = a
        .acquire("cms", "crashed", Duration::from_millis(100))
        .await
        .expect("acquire")
    else {
        panic!("free")
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let Acquired::Held(new) = b.acquire("cms", "worker-b", TTL).await.expect("acquire") else {
        panic!("an expired lease is free")
    };
    assert_ne!(old.token, new.token);
    assert_eq!(
        a.renew(&old, TTL).await.expect("renew"),
        None,
        "lost: no renewal"
    );
    a.release(&old)
        .await
        .expect("release of a lost lease is a no-op");
    assert!(matches!(
        a.acquire("cms", "worker-a", TTL).await.expect("acquire"),
        Acquired::Busy(h) if h.holder == "worker-b"
    ));
}

#[tokio::test]
async fn of_many_concurrent_takers_exactly_one_wins() {
    let (dir, _a) = common::setup().await;
    let backends: Vec<Arc<dyn LeaseStore>> = (0..8)
        .map(|_| Arc::new(common::open(dir.path())) as Arc<dyn LeaseStore>)
        .collect();
    let tasks: Vec<_> = backends
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            tokio::spawn(async move {
                b.acquire("cms", &format!("w{i}"), TTL)
                    .await
                    .expect("acquire")
            })
        })
        .collect();
    let mut held = 0;
    for t in tasks {
        if matches!(t.await.expect("join"), Acquired::Held(_)) {
            held += 1;
        }
    }
    assert_eq!(held, 1);
}
