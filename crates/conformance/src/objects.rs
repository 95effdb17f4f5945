//! `ObjectStore`: the object round trip, and the S3 event a put sends to a queue.

use crate::{unique, PATIENCE};
use bytes::Bytes;
use pressbot_core::backend::{Backend, PutOptions};
use pressbot_core::messages::{parse_s3_notification, S3Notification, S3Record};
use pressbot_core::Error;
use std::time::{Duration, Instant};

/// Put (with content type and cache control) → head → get → list by
/// prefix in key order → copy across buckets → delete (twice is fine) →
/// gone; a presigned GET URL names the object.
pub async fn object_put_get_list_copy_delete(b: &Backend) {
    let bucket = unique("objects");
    let other = unique("archive");
    b.objects
        .create_bucket(&bucket)
        .await
        .expect("create bucket");
    b.objects
        .create_bucket(&bucket)
        .await
        .expect("create bucket again is fine");
    b.objects
        .create_bucket(&other)
        .await
        .expect("create other bucket");
    let options = PutOptions {
        content_type: Some("application/zip".into()),
        cache_control: Some("max-age=60".into()),
    };
    let put = b
        .objects
        .put(
            &bucket,
            "a/one.zip",
            Bytes::from_static(b"PK\x03\x04hello"),
            options.clone(),
        )
        .await
        .expect("put");
    assert_eq!((put.key.as_str(), put.size), ("a/one.zip", 9));
    assert!(!put.etag.is_empty());
    for key in ["a/two.xml", "a/b/three.pdf", "b/four"] {
        b.objects
            .put(
                &bucket,
                key,
                Bytes::from(key.to_owned()),
                PutOptions::default(),
            )
            .await
            .expect("put");
    }
    let head = b
        .objects
        .head(&bucket, "a/one.zip")
        .await
        .expect("head")
        .expect("exists");
    assert_eq!(head.etag, put.etag);
    assert_eq!(head.size, 9);
    assert_eq!(head.content_type.as_deref(), Some("application/zip"));
    assert_eq!(head.cache_control.as_deref(), Some("max-age=60"));
    assert!(head.last_modified.millis() > 1_600_000_000_000);
    let got = b.objects.get(&bucket, "a/one.zip").await.expect("get");
    assert_eq!(&got.body[..], b"PK\x03\x04hello");
    assert_eq!(got.meta.etag, put.etag);
    assert_eq!(got.meta.content_type.as_deref(), Some("application/zip"));

    let listed: Vec<String> = b
        .objects
        .list(&bucket, "a/")
        .await
        .expect("list")
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(listed, ["a/b/three.pdf", "a/one.zip", "a/two.xml"]);
    assert_eq!(
        b.objects.list(&bucket, "").await.expect("list all").len(),
        4
    );
    assert!(b
        .objects
        .list(&bucket, "zzz/")
        .await
        .expect("list none")
        .is_empty());

    let copied = b
        .objects
        .copy(&bucket, "a/one.zip", &other, "kept/one.zip")
        .await
        .expect("copy");
    assert_eq!(copied.size, 9);
    let got = b
        .objects
        .get(&other, "kept/one.zip")
        .await
        .expect("get copy");
    assert_eq!(&got.body[..], b"PK\x03\x04hello");
    assert_eq!(got.meta.content_type.as_deref(), Some("application/zip"));

    let url = b
        .objects
        .presign_get(&bucket, "a/one.zip", Duration::from_secs(60))
        .await
        .expect("presign");
    assert!(url.contains(&bucket) && url.contains("one.zip"), "{url}");

    b.objects
        .put(
            &bucket,
            "a/one.zip",
            Bytes::from_static(b"bye"),
            PutOptions::default(),
        )
        .await
        .expect("overwrite");
    let got = b
        .objects
        .get(&bucket, "a/one.zip")
        .await
        .expect("get overwritten");
    assert_eq!(&got.body[..], b"bye");
    assert_ne!(got.meta.etag, put.etag);

    b.objects
        .delete(&bucket, "a/one.zip")
        .await
        .expect("delete");
    b.objects
        .delete(&bucket, "a/one.zip")
        .await
        .expect("delete twice is fine");
    assert_eq!(
        b.objects.head(&bucket, "a/one.zip").await.expect("head"),
        None
    );
    let e = b.objects.get(&bucket, "a/one.zip").await.unwrap_err();
    assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    assert!(
        b.objects
            .head(&other, "kept/one.zip")
            .await
            .expect("head copy")
            .is_some(),
        "the copy stays"
    );
}

async fn records(b: &Backend, queue: &str, want: usize) -> Vec<S3Record> {
    let mut records = Vec::new();
    let start = Instant::now();
    while records.len() < want {
        assert!(
            start.elapsed() < PATIENCE,
            "only {records:?} on {queue} within {PATIENCE:?}"
        );
        for m in b
            .queues
            .receive(queue, 10, Duration::from_secs(1), Duration::from_secs(30))
            .await
            .expect("receive")
        {
            match parse_s3_notification(&m.body)
                .unwrap_or_else(|e| panic!("not an S3 event: {e}: {}", m.body))
            {
                // AWS (and moto) send one when a notification is configured.
                S3Notification::TestEvent => {}
                S3Notification::Records(r) => records.extend(r),
            }
            b.queues.delete(queue, &m.receipt).await.expect("delete");
        }
    }
    records
}

/// A put into a bucket with a notification configured puts an S3-format
/// `ObjectCreated:*` event on the queue, with the key decoded, the size
/// and the eTag of the put; a bucket without one sends nothing.
pub async fn notification_event_on_put(b: &Backend) {
    let bucket = unique("incoming");
    let quiet = unique("quiet");
    let queue = unique("incoming-queue");
    b.objects
        .create_bucket(&bucket)
        .await
        .expect("create bucket");
    b.objects
        .create_bucket(&quiet)
        .await
        .expect("create quiet bucket");
    b.queues
        .create_queue(&queue, 5)
        .await
        .expect("create queue");
    b.objects
        .set_notification(&bucket, &queue)
        .await
        .expect("set notification");
    b.objects
        .set_notification(&bucket, &queue)
        .await
        .expect("set notification again");
    b.objects
        .put(
            &quiet,
            "ignored.zip",
            Bytes::from_static(b"PK"),
            PutOptions::default(),
        )
        .await
        .expect("put quiet");
    let key = "in dir/elife-00353 (1)+v1.zip";
    let put = b
        .objects
        .put(
            &bucket,
            key,
            Bytes::from_static(b"PK\x03\x04zip"),
            PutOptions::default(),
        )
        .await
        .expect("put");
    let got = records(b, &queue, 1).await;
    assert_eq!(got.len(), 1, "{got:?}");
    let r = &got[0];
    assert_eq!(r.bucket, bucket);
    assert_eq!(r.key, key);
    assert_eq!(r.size, 7);
    assert!(
        r.event_name.starts_with("ObjectCreated:"),
        "{}",
        r.event_name
    );
    assert_eq!(r.etag.as_deref(), Some(put.etag.as_str()));
    assert!(!r.event_time.is_empty());
}
