//! S3 semantics of the embedded backend: files plus SQLite metadata.

mod common;

use bytes::Bytes;
use common::*;
use pressbot_core::backend::{ObjectStore, PutOptions, QueueService};
use pressbot_core::messages::{parse_s3_notification, S3Notification};
use pressbot_core::Error;
use std::time::Duration;

async fn store() -> (tempfile::TempDir, pressbot_local::LocalBackend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = open(dir.path());
    b.create_bucket("in-bucket").await.expect("bucket");
    b.create_bucket("out-bucket").await.expect("bucket");
    b.create_bucket("out-bucket").await.expect("again is fine");
    (dir, b)
}

#[tokio::test]
async fn put_get_head_list_copy_delete() {
    let (dir, b) = store().await;
    let opts = PutOptions {
        content_type: Some("application/zip".into()),
        cache_control: Some("max-age=60".into()),
    };
    let meta = b
        .put(
            "in-bucket",
            "a/one.zip",
            Bytes::from_static(b"hello"),
            opts.clone(),
        )
        .await
        .expect("put");
    assert_eq!(meta.size, 5);
    assert_eq!(meta.etag, "ea8f163db38682925e4491c5e58d4bb3");
    assert_eq!(meta.content_type.as_deref(), Some("application/zip"));
    assert!(dir.path().join("objects/in-bucket/a/one.zip").is_file());
    b.put(
        "in-bucket",
        "a/two.zip",
        Bytes::from_static(b"2"),
        PutOptions::default(),
    )
    .await
    .expect("put");
    b.put(
        "in-bucket",
        "b/three",
        Bytes::from_static(b"3"),
        PutOptions::default(),
    )
    .await
    .expect("put");
    b.put("in-bucket", "folder/", Bytes::new(), PutOptions::default())
        .await
        .expect("folder marker");

    let got = b.get("in-bucket", "a/one.zip").await.expect("get");
    assert_eq!(&got.body[..], b"hello");
    assert_eq!(got.meta, meta);
    assert_eq!(
        b.head("in-bucket", "a/one.zip").await.expect("head"),
        Some(meta.clone())
    );
    assert_eq!(b.head("in-bucket", "a/none").await.expect("head"), None);

    let keys = |v: Vec<pressbot_core::backend::ObjectMeta>| -> Vec<String> {
        v.into_iter().map(|m| m.key).collect()
    };
    assert_eq!(
        keys(b.list("in-bucket", "a/").await.expect("list")),
        ["a/one.zip", "a/two.zip"]
    );
    assert_eq!(
        keys(b.list("in-bucket", "").await.expect("list")),
        ["a/one.zip", "a/two.zip", "b/three", "folder/"]
    );

    let copied = b
        .copy("in-bucket", "a/one.zip", "out-bucket", "x/copy.zip")
        .await
        .expect("copy");
    assert_eq!(copied.etag, meta.etag);
    assert_eq!(copied.content_type, meta.content_type);
    assert_eq!(
        &b.get("out-bucket", "x/copy.zip").await.expect("get").body[..],
        b"hello"
    );

    // Overwrite replaces body and metadata.
    let meta2 = b
        .put(
            "in-bucket",
            "a/one.zip",
            Bytes::from_static(b"bye"),
            PutOptions::default(),
        )
        .await
        .expect("overwrite");
    assert_eq!(
        &b.get("in-bucket", "a/one.zip").await.expect("get").body[..],
        b"bye"
    );
    assert_ne!(meta2.etag, meta.etag);

    ObjectStore::delete(&b, "in-bucket", "b/three")
        .await
        .expect("delete");
    ObjectStore::delete(&b, "in-bucket", "b/three")
        .await
        .expect("delete twice is fine");
    assert!(
        !dir.path().join("objects/in-bucket/b").exists(),
        "empty dirs pruned"
    );
    let e = b.get("in-bucket", "b/three").await.expect_err("deleted");
    assert!(matches!(e, Error::NotFound { what: "object", .. }), "{e}");
    // The freed name can now be a file.
    b.put(
        "in-bucket",
        "b",
        Bytes::from_static(b"file"),
        PutOptions::default(),
    )
    .await
    .expect("put where a directory was");
}

#[tokio::test]
async fn unknown_buckets_and_bad_keys_are_errors() {
    let (_dir, b) = store().await;
    let e = b
        .put("no-bucket", "k", Bytes::new(), PutOptions::default())
        .await
        .expect_err("no bucket");
    assert!(matches!(e, Error::NotFound { what: "bucket", .. }), "{e}");
    let e = b.get("no-bucket", "k").await.expect_err("no bucket");
    assert!(matches!(e, Error::NotFound { what: "bucket", .. }), "{e}");
    for bad in ["../escape", "/abs", "a/./b", ""] {
        let e = b
            .put("in-bucket", bad, Bytes::new(), PutOptions::default())
            .await
            .expect_err(bad);
        assert!(e.to_string().contains("object key"), "{bad}: {e}");
    }
    let e = b.create_bucket("Bad_Bucket").await.expect_err("bad bucket");
    assert!(e.to_string().contains("bucket name"), "{e}");
}

#[tokio::test]
async fn notification_events_are_emitted_on_put_and_copy() {
    let (_dir, b) = store().await;
    b.create_queue("incoming", 3).await.expect("queue");
    let e = b
        .set_notification("in-bucket", "no-queue")
        .await
        .expect_err("unknown queue");
    assert!(matches!(e, Error::NotFound { what: "queue", .. }), "{e}");
    b.set_notification("in-bucket", "incoming")
        .await
        .expect("notify");
    let meta = b
        .put(
            "in-bucket",
            "new folder/elife 1.zip",
            Bytes::from_static(b"zip"),
            PutOptions::default(),
        )
        .await
        .expect("put");
    b.copy("out-bucket", "missing", "in-bucket", "x")
        .await
        .expect_err("missing source");
    b.put(
        "out-bucket",
        "src",
        Bytes::from_static(b"abc"),
        PutOptions::default(),
    )
    .await
    .expect("put without notification");
    b.copy("out-bucket", "src", "in-bucket", "copied")
        .await
        .expect("copy");

    let got = b
        .receive("incoming", 10, Duration::ZERO, secs(30.0))
        .await
        .expect("receive");
    assert_eq!(
        got.len(),
        2,
        "one event per created object, none for other buckets"
    );
    let records: Vec<_> = got
        .iter()
        .map(|m| match parse_s3_notification(&m.body).expect("parses") {
            S3Notification::Records(mut r) => r.remove(0),
            S3Notification::TestEvent => panic!("test event"),
        })
        .collect();
    assert_eq!(records[0].bucket, "in-bucket");
    assert_eq!(records[0].key, "new folder/elife 1.zip");
    assert_eq!(records[0].size, 3);
    assert_eq!(records[0].etag.as_deref(), Some(meta.etag.as_str()));
    assert!(records[0].event_name.starts_with("ObjectCreated:"));
    assert_eq!(records[1].key, "copied");
    let s0 = records[0].sequencer.clone().expect("sequencer");
    let s1 = records[1].sequencer.clone().expect("sequencer");
    assert!(s0 < s1, "sequencers increase: {s0} < {s1}");
}

#[tokio::test]
async fn presigned_urls_point_at_the_file() {
    let (dir, b) = store().await;
    b.put(
        "in-bucket",
        "a b.txt",
        Bytes::from_static(b"x"),
        PutOptions::default(),
    )
    .await
    .expect("put");
    let url = b
        .presign_get("in-bucket", "a b.txt", Duration::from_secs(60))
        .await
        .expect("presign");
    assert!(url.starts_with("file://"), "{url}");
    assert!(
        url.contains("/objects/in-bucket/a%20b.txt?expires="),
        "{url}"
    );
    let canonical = dir.path().canonicalize().expect("canonical");
    assert!(url.contains(&*canonical.to_string_lossy()), "{url}");
}

/// `get_to_file` and `put_file` (how packages and their entries move,
/// never whole in memory) are a file copy each way: the same bytes, size
/// and eTag as `get`/`put`, and a put from a file fires the bucket's
/// notification like any put.
#[tokio::test]
async fn get_to_file_and_put_file_stream_through_files() {
    let (dir, b) = store().await;
    let body: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let src = dir.path().join("src.bin");
    std::fs::write(&src, &body).expect("write");
    let opts = PutOptions {
        content_type: Some("video/mp4".into()),
        cache_control: None,
    };
    let put = b
        .put_file("in-bucket", "big/one.mp4", &src, opts)
        .await
        .expect("put_file");
    assert_eq!(put.size, body.len() as u64);
    assert_eq!(put.etag, b.etag_kind().etag(&body));
    assert_eq!(
        b.head("in-bucket", "big/one.mp4").await.expect("head"),
        Some(put.clone())
    );
    let dest = dir.path().join("dest.bin");
    let got = b
        .get_to_file("in-bucket", "big/one.mp4", &dest)
        .await
        .expect("get_to_file");
    assert_eq!(got, put);
    assert_eq!(std::fs::read(&dest).expect("read"), body);
    // Missing object and missing source file: errors naming them.
    let e = b
        .get_to_file("in-bucket", "nope", &dest)
        .await
        .expect_err("missing");
    assert!(matches!(e, Error::NotFound { .. }), "{e}");
    let e = b
        .put_file(
            "in-bucket",
            "x",
            &dir.path().join("absent"),
            PutOptions::default(),
        )
        .await
        .expect_err("absent source");
    assert!(e.to_string().contains("absent"), "{e}");
    assert!(b.head("in-bucket", "x").await.expect("head").is_none());
    // Nothing left behind in the data dir's temp folder.
    assert_eq!(
        std::fs::read_dir(dir.path().join("tmp"))
            .expect("tmp")
            .count(),
        0
    );
}

/// A copy shares the source's file (a hard link: objects are never written
/// in place), so replacing or deleting either side must leave the other as
/// it was, in bytes and metadata.
#[tokio::test]
async fn a_copy_is_independent_of_its_source_after_either_changes() {
    use std::os::unix::fs::MetadataExt;
    let (dir, b) = store().await;
    let original = b
        .put(
            "in-bucket",
            "src.tif",
            Bytes::from_static(b"first"),
            PutOptions::default(),
        )
        .await
        .expect("put");
    b.copy("in-bucket", "src.tif", "out-bucket", "dst.tif")
        .await
        .expect("copy");
    let links = std::fs::metadata(dir.path().join("objects/out-bucket/dst.tif"))
        .expect("copy's file")
        .nlink();
    assert_eq!(links, 2, "the copy is a hard link of the source");

    // Replace the source: the copy keeps the old bytes and eTag.
    b.put(
        "in-bucket",
        "src.tif",
        Bytes::from_static(b"second"),
        PutOptions::default(),
    )
    .await
    .expect("overwrite source");
    let copy = b.get("out-bucket", "dst.tif").await.expect("get copy");
    assert_eq!(&copy.body[..], b"first");
    assert_eq!(copy.meta.etag, original.etag);
    assert_eq!(
        &b.get("in-bucket", "src.tif").await.expect("get").body[..],
        b"second"
    );

    // Replace the copy, then delete the source: each keeps its own bytes.
    b.copy("in-bucket", "src.tif", "out-bucket", "dst2.tif")
        .await
        .expect("copy again");
    b.put(
        "out-bucket",
        "dst2.tif",
        Bytes::from_static(b"third"),
        PutOptions::default(),
    )
    .await
    .expect("overwrite copy");
    assert_eq!(
        &b.get("in-bucket", "src.tif").await.expect("get").body[..],
        b"second"
    );
    ObjectStore::delete(&b, "in-bucket", "src.tif")
        .await
        .expect("delete source");
    assert_eq!(
        &b.get("out-bucket", "dst.tif").await.expect("get").body[..],
        b"first"
    );
    assert_eq!(
        &b.get("out-bucket", "dst2.tif").await.expect("get").body[..],
        b"third"
    );
}

/// A file staged in the store's staging directory is moved into place, not
/// copied: the object is the very file (same inode), the staged path is
/// gone, and the eTag and event are those of any put.
#[tokio::test]
async fn a_staged_file_is_moved_into_place_with_the_put_s_etag() {
    use std::os::unix::fs::MetadataExt;
    let (dir, b) = store().await;
    let staging = b
        .staging_dir()
        .expect("the embedded store has a staging dir");
    assert!(staging.starts_with(dir.path()), "{}", staging.display());
    let nested = tempfile::tempdir_in(&staging).expect("a directory inside it");
    let staged = nested.path().join("entry-1");
    std::fs::write(&staged, b"staged bytes").expect("write staged");
    let inode = std::fs::metadata(&staged).expect("staged").ino();
    let meta = b
        .put_staged_file("in-bucket", "x/fig1.tif", &staged, PutOptions::default())
        .await
        .expect("put staged");
    assert!(!staged.exists(), "the staged file was taken");
    let object = dir.path().join("objects/in-bucket/x/fig1.tif");
    assert_eq!(std::fs::metadata(&object).expect("object").ino(), inode);
    let put = b
        .put(
            "out-bucket",
            "same",
            Bytes::from_static(b"staged bytes"),
            PutOptions::default(),
        )
        .await
        .expect("put");
    assert_eq!((meta.size, &meta.etag), (12, &put.etag));
    let got = b.get("in-bucket", "x/fig1.tif").await.expect("get");
    assert_eq!(&got.body[..], b"staged bytes");
}

/// A file outside the staging directory is stored as by `put_file` and
/// then removed: still taken, never linked into the store.
#[tokio::test]
async fn a_file_outside_the_staging_dir_is_copied_then_removed() {
    use std::os::unix::fs::MetadataExt;
    let (dir, b) = store().await;
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let file = elsewhere.path().join("entry");
    std::fs::write(&file, b"from elsewhere").expect("write");
    let inode = std::fs::metadata(&file).expect("file").ino();
    b.put_staged_file("in-bucket", "y", &file, PutOptions::default())
        .await
        .expect("put staged");
    assert!(!file.exists(), "the file was removed");
    let object = dir.path().join("objects/in-bucket/y");
    assert_ne!(std::fs::metadata(&object).expect("object").ino(), inode);
    assert_eq!(
        &b.get("in-bucket", "y").await.expect("get").body[..],
        b"from elsewhere"
    );
}

/// `open_file` hands out the object's own file with matching metadata; a
/// later put of the key does not change what the open file reads.
#[tokio::test]
async fn an_opened_object_keeps_its_bytes_when_the_key_is_replaced() {
    use std::io::Read;
    let (_dir, b) = store().await;
    let first = b
        .put(
            "in-bucket",
            "pkg.zip",
            Bytes::from_static(b"version one"),
            PutOptions::default(),
        )
        .await
        .expect("put");
    let (mut file, meta) = b
        .open_file("in-bucket", "pkg.zip")
        .await
        .expect("open")
        .expect("the embedded store opens files");
    assert_eq!(meta.etag, first.etag);
    b.put(
        "in-bucket",
        "pkg.zip",
        Bytes::from_static(b"version two!"),
        PutOptions::default(),
    )
    .await
    .expect("replace");
    let mut body = String::new();
    file.read_to_string(&mut body).expect("read");
    assert_eq!(body, "version one");
    let err = b
        .open_file("in-bucket", "missing")
        .await
        .expect_err("missing");
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// A new data dir hashes with BLAKE3; one that held objects before BLAKE3
/// (no recorded kind) keeps MD5, so a package put again after an upgrade
/// has the eTag, hence the identity, it had.
#[tokio::test]
async fn a_data_dir_keeps_the_etag_kind_it_was_created_with() {
    use pressbot_local::objects::EtagKind;
    let dir = tempfile::tempdir().expect("tempdir");
    let b = open(dir.path());
    assert_eq!(b.etag_kind(), EtagKind::Blake3);
    b.create_bucket("in-bucket").await.expect("bucket");
    let body = Bytes::from_static(b"package bytes");
    let put = b
        .put("in-bucket", "p.zip", body.clone(), PutOptions::default())
        .await
        .expect("put");
    assert_eq!(put.etag, EtagKind::Blake3.etag(&body));
    drop(b);
    assert_eq!(open(dir.path()).etag_kind(), EtagKind::Blake3, "reopened");

    // What a data dir written before BLAKE3 looks like: objects, no kind.
    let db = rusqlite::Connection::open(dir.path().join(pressbot_local::DB_FILE)).expect("db");
    db.execute("DELETE FROM counters WHERE name = 'etag_blake3'", [])
        .expect("forget the kind");
    drop(db);
    let b = open(dir.path());
    assert_eq!(b.etag_kind(), EtagKind::Md5);
    let again = b
        .put("in-bucket", "p.zip", body.clone(), PutOptions::default())
        .await
        .expect("put again");
    assert_eq!(
        again.etag, "92b5ee36dd2ec180e12bf3344f9cf676",
        "the body's MD5"
    );
}

/// What a killed process left in `tmp/` (a staged package, a put never
/// renamed) is removed by a later open once it is older than a day; what
/// is recent may be a live process's and stays.
#[tokio::test]
async fn an_open_removes_temp_files_left_long_ago_and_keeps_recent_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(open(dir.path()));
    let tmp = dir.path().join("tmp");
    let old_dir = tmp.join("expand-old");
    std::fs::create_dir(&old_dir).expect("dir");
    std::fs::write(old_dir.join("entry-1"), b"left behind").expect("entry");
    std::fs::write(tmp.join("old-put"), b"never renamed").expect("file");
    std::fs::create_dir(tmp.join("expand-live")).expect("live dir");
    std::fs::write(tmp.join("live-put"), b"being written").expect("live file");
    let two_days_ago = std::time::SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
    for old in [&old_dir, &tmp.join("old-put")] {
        std::fs::File::open(old)
            .and_then(|f| f.set_modified(two_days_ago))
            .expect("age it");
    }
    drop(open(dir.path()));
    let mut left: Vec<String> = std::fs::read_dir(&tmp)
        .expect("tmp")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["expand-live", "live-put"]);
}
