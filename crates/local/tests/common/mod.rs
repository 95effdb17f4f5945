//! Shared helpers of the embedded backend's integration tests: real SQLite
//! files in a temp dir, short long polls so the suite stays quick.
#![allow(dead_code)]

use pressbot_core::backend::{StartOutcome, StartRequest, WorkflowService};
use pressbot_core::history::{ActivityTimeouts, Decision, EventKind, HistoryEvent};
use pressbot_core::ids::{RunId, TypeRef, WorkflowId};
use pressbot_local::{LocalBackend, LocalOptions};
use std::path::Path;
use std::time::Duration;

pub const DECISIONS: &str = "decisions";
pub const WORK: &str = "work";

pub fn options() -> LocalOptions {
    LocalOptions {
        domain: "test".into(),
        poll_interval: Duration::from_millis(20),
        long_poll: Duration::from_millis(300),
    }
}

pub fn open(dir: &Path) -> LocalBackend {
    LocalBackend::open(dir, options()).expect("open backend")
}

pub fn workflow_type() -> TypeRef {
    TypeRef::new("Flow", "1")
}

pub fn ping() -> TypeRef {
    TypeRef::new("Ping", "1")
}

/// Open a backend on a fresh dir and register the test types.
pub async fn setup() -> (tempfile::TempDir, LocalBackend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let b = open(dir.path());
    b.register_workflow_type(&workflow_type(), DECISIONS)
        .await
        .expect("register workflow");
    b.register_activity_type(&ping(), WORK)
        .await
        .expect("register activity");
    (dir, b)
}

pub fn request(id: &str) -> StartRequest {
    StartRequest {
        workflow_id: WorkflowId::from(id),
        workflow_type: workflow_type(),
        task_list: DECISIONS.into(),
        input: Some(r#"{"a":1}"#.into()),
        execution_start_to_close: Duration::from_secs(600),
        decision_task_start_to_close: Duration::from_secs(60),
        tags: vec![],
    }
}

pub async fn start(b: &LocalBackend, id: &str) -> RunId {
    match b.start_workflow(request(id)).await.expect("start") {
        StartOutcome::Started { run_id } => run_id,
        other => panic!("expected Started, got {other:?}"),
    }
}

pub fn schedule(activity_id: &str, timeouts: ActivityTimeouts) -> Decision {
    Decision::ScheduleActivityTask {
        activity_id: activity_id.into(),
        activity_type: ping(),
        input: Some(format!("input of {activity_id}")),
        control: None,
        task_list: WORK.into(),
        timeouts,
    }
}

pub fn names(events: &[HistoryEvent]) -> Vec<&str> {
    events.iter().map(|e| e.kind.name()).collect()
}

pub fn last_kind(events: &[HistoryEvent], name: &str) -> EventKind {
    events
        .iter()
        .rev()
        .find(|e| e.kind.name() == name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", names(events)))
        .kind
        .clone()
}

pub fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}
