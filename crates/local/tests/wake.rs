//! Cross-process wake-ups: a write in one OS process wakes a long poll in
//! another at once, not at the next `poll_interval` tick. The polls here
//! use a 30 s `poll_interval` and a 60 s long poll, so a poll that returns
//! the work before 30 s can only have been woken by the other process.
//!
//! The other process is this test binary run again (`child_writer`, which
//! does nothing unless started with `CHILD_DIR` set).
#![cfg(unix)]

mod common;

use common::*;
use pressbot_core::backend::{OutgoingMessage, QueueService, WorkflowService};
use pressbot_local::{LocalBackend, LocalOptions};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_DIR: &str = "PRESSBOT_WAKE_TEST_DIR";
const CHILD_ACTION: &str = "PRESSBOT_WAKE_TEST_ACTION";
const READY: &str = "wake-test-child-ready";

/// Far longer than any wake-up: a poll answered sooner was woken.
const SLOW_POLL: Duration = Duration::from_secs(30);
const LONG_POLL: Duration = Duration::from_secs(60);

fn slow_options() -> LocalOptions {
    LocalOptions {
        domain: "test".into(),
        poll_interval: SLOW_POLL,
        long_poll: LONG_POLL,
    }
}

fn open_slow(dir: &Path) -> LocalBackend {
    LocalBackend::open(dir, slow_options()).expect("open backend")
}

fn go_file(dir: &Path) -> PathBuf {
    dir.join("go")
}

fn sockets(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir.join(pressbot_local::wake::WAKE_DIR))
        .expect("list wake dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The other process: opens the data dir, says [`READY`] on stdout, waits
/// for the go file, then writes what `CHILD_ACTION` says (or, for
/// `sleep`, nothing: it waits to be killed).
#[tokio::test]
async fn child_writer() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let action = std::env::var(CHILD_ACTION).expect("action");
    let b = open_slow(&dir);
    println!("{READY}");
    let give_up = Instant::now() + Duration::from_secs(90);
    while !go_file(&dir).exists() {
        assert!(Instant::now() < give_up, "no go file");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    match action.as_str() {
        "start" => {
            start(&b, "from-child").await;
        }
        "send" => {
            b.send("jobs", OutgoingMessage::new("from child"))
                .await
                .expect("send");
        }
        "sleep" => tokio::time::sleep(Duration::from_secs(90)).await,
        other => panic!("unknown action {other}"),
    }
}

/// Start `child_writer` with `action`, and wait until it has opened the
/// data dir.
fn spawn_child(dir: &Path, action: &str) -> Child {
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args(["child_writer", "--exact", "--test-threads=1", "--nocapture"])
        .env(CHILD_DIR, dir)
        .env(CHILD_ACTION, action)
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn child process");
    let stdout = child.stdout.take().expect("child stdout");
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines
            .next()
            .expect("child exited before saying ready")
            .expect("read child stdout");
        // libtest may print its "test child_writer ... " on the same line.
        if line.contains(READY) {
            break;
        }
    }
    // Keep draining: a closed pipe would fail the child's later output.
    std::thread::spawn(move || lines.for_each(drop));
    child
}

async fn setup_slow() -> (tempfile::TempDir, LocalBackend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = open_slow(dir.path());
    b.register_workflow_type(&workflow_type(), DECISIONS)
        .await
        .expect("register workflow");
    b.register_activity_type(&ping(), WORK)
        .await
        .expect("register activity");
    b.create_queue("jobs", 5).await.expect("create queue");
    (dir, b)
}

#[tokio::test]
async fn a_workflow_started_by_another_process_wakes_the_decision_poll() {
    let (dir, b) = setup_slow().await;
    let mut child = spawn_child(dir.path(), "start");
    let started = Instant::now();
    let poller = b.clone();
    let poll = tokio::spawn(async move { poller.poll_decision_task(DECISIONS, "decider").await });
    // Let the poll find nothing and go to sleep before the write.
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(go_file(dir.path()), b"go").expect("write go file");
    let task = poll.await.expect("join").expect("poll");
    let elapsed = started.elapsed();
    assert!(child.wait().expect("wait child").success(), "child failed");
    let task = task.expect("the poll ended without the task the other process made");
    assert_eq!(task.execution.workflow_id.as_str(), "from-child");
    assert!(
        elapsed < SLOW_POLL,
        "the poll returned only after {elapsed:?}: at its poll_interval tick, not woken"
    );
}

#[tokio::test]
async fn a_message_sent_by_another_process_wakes_the_receive() {
    let (dir, b) = setup_slow().await;
    let mut child = spawn_child(dir.path(), "send");
    let started = Instant::now();
    let receiver = b.clone();
    let poll = tokio::spawn(async move {
        receiver
            .receive("jobs", 1, LONG_POLL, Duration::from_secs(30))
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(go_file(dir.path()), b"go").expect("write go file");
    let got = poll.await.expect("join").expect("receive");
    let elapsed = started.elapsed();
    assert!(child.wait().expect("wait child").success(), "child failed");
    assert_eq!(got.len(), 1, "the receive ended without the message");
    assert_eq!(got[0].body, "from child");
    assert!(
        elapsed < SLOW_POLL,
        "the receive returned only after {elapsed:?}: at its poll_interval tick, not woken"
    );
}

/// Two instances in one process share no in-process notification: the
/// writer's instance wakes the other through its socket too.
#[tokio::test]
async fn another_instance_in_the_same_process_is_woken() {
    let (dir, b) = setup_slow().await;
    let other = open_slow(dir.path());
    let started = Instant::now();
    let poll = tokio::spawn(async move { other.poll_activity_task(WORK, "worker").await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    start(&b, "wf").await;
    let d = b
        .poll_decision_task(DECISIONS, "decider")
        .await
        .expect("poll decision")
        .expect("decision task");
    b.complete_decision_task(&d.token, vec![schedule("a1", Default::default())], None)
        .await
        .expect("complete decision");
    let task = poll.await.expect("join").expect("poll activity");
    assert!(task.is_some(), "the poll ended without the activity task");
    assert!(
        started.elapsed() < SLOW_POLL,
        "woken only by the poll_interval tick"
    );
}

/// A process killed with SIGKILL leaves its socket behind; the next waking
/// write removes it, and everything else keeps working.
#[tokio::test]
async fn the_socket_of_a_killed_process_is_removed_and_nothing_breaks() {
    let (dir, b) = setup_slow().await;
    let mut child = spawn_child(dir.path(), "sleep");
    assert_eq!(sockets(dir.path()).len(), 2, "ours and the child's");
    child.kill().expect("SIGKILL the child");
    child.wait().expect("reap child");
    assert_eq!(
        sockets(dir.path()).len(),
        2,
        "a killed process cleans nothing"
    );
    start(&b, "after-kill").await;
    assert_eq!(
        sockets(dir.path()).len(),
        1,
        "the dead process's socket is still there"
    );
    let d = b
        .poll_decision_task(DECISIONS, "decider")
        .await
        .expect("poll")
        .expect("decision task");
    assert_eq!(d.execution.workflow_id.as_str(), "after-kill");
}

/// A stale socket from an earlier run is removed when a new instance says
/// hello; dropping an instance removes its own socket.
#[test]
fn stale_sockets_are_removed_and_own_socket_goes_on_drop() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wake_dir = dir.path().join(pressbot_local::wake::WAKE_DIR);
    std::fs::create_dir_all(&wake_dir).expect("wake dir");
    // Bound, then closed without unlinking: what a killed process leaves.
    drop(std::os::unix::net::UnixDatagram::bind(wake_dir.join("1-deadbeef")).expect("bind"));
    assert_eq!(sockets(dir.path()), vec!["1-deadbeef".to_owned()]);
    let b = open_slow(dir.path());
    let mine = sockets(dir.path());
    assert_eq!(mine.len(), 1, "stale socket not removed: {mine:?}");
    assert!(mine[0].starts_with(&format!("{}-", std::process::id())));
    drop(b);
    assert!(sockets(dir.path()).is_empty(), "own socket left behind");
}
