//! The CMS lease on S3 (moto): conditional puts decide who holds it.
//!
//! First what moto does with the conditions themselves (a raw
//! `If-None-Match: *` put over an existing object, a put with a stale
//! `If-Match`), then the lease built on them.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use pressbot_core::lease::Acquired;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread")]
async fn moto_honours_conditional_puts_and_the_lease_works_on_them() {
    let (moto, settings, aws) = common::setup("lease", 1000).await;
    let bucket = settings.bucket("expanded").unwrap();

    // What moto does with the conditions (pinned: see the deviations in
    // crates/aws/src/testing.rs).
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(settings.aws.region.clone()))
        .endpoint_url(moto.endpoint())
        .credentials_provider(pressbot_aws::testing::test_credentials())
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let put = |body: &'static str| {
        s3.put_object()
            .bucket(&bucket)
            .key("probe")
            .body(ByteStream::from_static(body.as_bytes()))
    };
    let first = put("1").if_none_match("*").send().await.expect("create");
    let again = put("2").if_none_match("*").send().await;
    assert_eq!(
        again
            .err()
            .and_then(|e| e.raw_response().map(|r| r.status().as_u16())),
        Some(412),
        "If-None-Match: * over an existing object is refused"
    );
    let etag = first.e_tag().expect("an eTag").to_owned();
    put("3")
        .if_match(&etag)
        .send()
        .await
        .expect("If-Match with the current eTag");
    let stale = put("4").if_match(&etag).send().await;
    assert_eq!(
        stale
            .err()
            .and_then(|e| e.raw_response().map(|r| r.status().as_u16())),
        Some(412),
        "If-Match with a stale eTag is refused"
    );

    // The lease.
    let a = aws.backend().leases;
    let b = moto.connect(&settings).await.backend().leases;
    let Acquired::Held(lease) = a.acquire("cms", "worker-a", TTL).await.expect("acquire") else {
        panic!("a free lease is taken")
    };
    assert!(matches!(
        b.acquire("cms", "worker-b", TTL).await.expect("acquire"),
        Acquired::Busy(h) if h.holder == "worker-a"
    ));
    assert!(a.renew(&lease, TTL).await.expect("renew").is_some());
    a.release(&lease).await.expect("release");
    let Acquired::Held(short) = b
        .acquire("cms", "worker-b", Duration::from_millis(200))
        .await
        .expect("acquire after release")
    else {
        panic!("a released lease is free")
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let Acquired::Held(taken) = a.acquire("cms", "worker-a", TTL).await.expect("takeover") else {
        panic!("an expired lease is taken over")
    };
    assert_ne!(taken.token, short.token);
    assert_eq!(b.renew(&short, TTL).await.expect("renew"), None, "lost");
    b.release(&short).await.expect("no-op");
    assert!(matches!(
        b.acquire("cms", "worker-b", TTL).await.expect("acquire"),
        Acquired::Busy(h) if h.holder == "worker-a"
    ));

    // Concurrent takers of one free lease: exactly one wins.
    a.release(&taken).await.expect("release");
    let mut tasks = Vec::new();
    for i in 0..6 {
        let l = moto.connect(&settings).await.backend().leases;
        tasks.push(tokio::spawn(async move {
            l.acquire("cms", &format!("w{i}"), TTL)
                .await
                .expect("acquire")
        }));
    }
    let mut held = 0;
    for t in tasks {
        held += usize::from(matches!(t.await.expect("join"), Acquired::Held(_)));
    }
    assert_eq!(held, 1);
}
