//! Several OS processes on one data dir, as the daemons run in production:
//! this test process is the decider, child processes (this same test
//! binary, re-run with an environment variable) are activity workers.

mod common;

use common::*;
use pressbot_core::backend::{CloseStatus, ExecutionFilter, WorkflowService};
use pressbot_core::history::{ActivityTimeouts, Decision, EventKind};
use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

const CHILD_DIR: &str = "PRESSBOT_LOCAL_TEST_CHILD_DIR";

/// The worker role; does nothing unless started by the test below.
#[tokio::test]
async fn child_worker() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let b = open(Path::new(&dir));
    let mut idle = 0;
    while idle < 10 {
        match b.poll_activity_task(WORK, "child").await.expect("poll") {
            Some(t) => {
                idle = 0;
                b.complete_activity_task(&t.token, Some(std::process::id().to_string()))
                    .await
                    .expect("complete");
            }
            None => idle += 1,
        }
    }
}

#[tokio::test]
async fn separate_processes_share_the_data_dir() {
    let (dir, b) = setup().await;
    let exe = std::env::current_exe().expect("test binary");
    let mut children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(&exe)
                .args(["child_worker", "--exact", "--test-threads=1"])
                .env(CHILD_DIR, dir.path())
                .stdout(Stdio::null())
                .spawn()
                .expect("spawn worker process")
        })
        .collect();
    const N: usize = 8;
    for i in 0..N {
        start(&b, &format!("wf-{i}")).await;
    }
    let mut workers = HashSet::new();
    let give_up = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let open = b
            .list_executions(&ExecutionFilter {
                open: true,
                ..Default::default()
            })
            .await
            .expect("list");
        if open.is_empty() || std::time::Instant::now() > give_up {
            break;
        }
        let Some(d) = b
            .poll_decision_task(DECISIONS, "decider")
            .await
            .expect("poll")
        else {
            continue;
        };
        let completed = d.events.iter().find_map(|e| match &e.kind {
            EventKind::ActivityTaskCompleted { result, .. } => result.clone(),
            _ => None,
        });
        let decision = match completed {
            Some(pid) => {
                workers.insert(pid.clone());
                Decision::CompleteWorkflowExecution { result: Some(pid) }
            }
            None => schedule("work", ActivityTimeouts::default()),
        };
        b.complete_decision_task(&d.token, vec![decision], None)
            .await
            .expect("complete decision");
    }
    for child in &mut children {
        assert!(
            child.wait().expect("wait").success(),
            "worker process failed"
        );
    }
    let closed = b
        .list_executions(&ExecutionFilter {
            open: false,
            close_status: Some(CloseStatus::Completed),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_eq!(closed.len(), N);
    assert!(!workers.is_empty());
    assert!(
        !workers.contains(&std::process::id().to_string()),
        "activities ran in the worker processes"
    );
}
