//! The write-ahead log is emptied once it passes its limit, even after a
//! reader kept SQLite from restarting it: the growth that took every
//! daemon's memory up over long runs (docs/benchmarks.md, section 5).

mod common;

use common::*;
use pressbot_core::backend::{OutgoingMessage, QueueService};
use pressbot_local::DB_FILE;
use std::path::Path;
use std::time::{Duration, Instant};

fn wal_bytes(dir: &Path) -> u64 {
    std::fs::metadata(dir.join(format!("{DB_FILE}-wal"))).map_or(0, |m| m.len())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wal_past_its_limit_is_truncated_once_readers_let_go() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = open(dir.path());
    backend.create_queue("q", 5).await.expect("queue");

    // Another process's long read transaction: SQLite cannot restart the
    // WAL under it, so every commit appends.
    let reader = rusqlite::Connection::open(dir.path().join(DB_FILE)).expect("reader");
    reader
        .execute_batch("BEGIN; SELECT count(*) FROM sqlite_master;")
        .expect("hold a read snapshot");

    let body = "x".repeat(8 * 1024);
    for _ in 0..2500 {
        backend
            .send("q", OutgoingMessage::new(body.clone()))
            .await
            .expect("send");
    }
    let grown = wal_bytes(dir.path());
    assert!(
        grown > 16 << 20,
        "the WAL should have grown past its limit under the reader: {grown} bytes"
    );

    // The reader lets go; the next operations find the WAL too big and a
    // background checkpoint truncates it.
    reader.execute_batch("COMMIT").expect("end the read");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        backend.depth("q").await.expect("depth");
        let now = wal_bytes(dir.path());
        if now < 1 << 20 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the WAL is still {now} bytes (was {grown}) 30 s after its reader let go"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(backend.depth("q").await.expect("depth").visible, 2500);
}
